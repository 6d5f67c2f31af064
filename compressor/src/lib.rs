//! Trove compressor: a content-addressed blob store that keeps every file byte-exact in fewer
//! bytes. See `docs/API.md` for the HTTP contract.

pub mod app;
pub mod bench;
pub mod codec;
pub mod config;
pub mod error;
pub mod frames;
pub mod healthcheck;
pub mod index;
pub mod ingest;
pub mod locks;
pub mod memory;
pub mod metrics;
pub mod migrations;
pub mod range;
pub mod routes;
pub mod scrub;
pub mod store;
pub mod token;
pub mod verify;

use tracing_subscriber::EnvFilter;

/// How long requests in flight may take to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the healthcheck waits for each step (connect, send, answer).
const HEALTHCHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

const USAGE: &str = "usage: trove-compressor [serve | scrub | healthcheck]\n\n\
serve (the default) serves the Trove compressor API until SIGTERM/SIGINT.\n\
scrub decodes every stored blob, compares it with its id and lists the corrupt ones;\n\
it exits 0 when all are intact, 1 when any is corrupt, 3 when it could not finish.\n\
healthcheck asks the running service's /readyz on COMPRESSOR_HOST:COMPRESSOR_PORT\n\
(loopback when the host is 0.0.0.0 or ::); it exits 0 when ready, 1 otherwise.\n\n\
Configuration comes from the environment:\n\
COMPRESSOR_HOST, COMPRESSOR_PORT, COMPRESSOR_DATA_DIR (or TROVE_DATA_DIR),\n\
COMPRESSOR_DATABASE_URL, COMPRESSOR_TOKEN, COMPRESSOR_ZSTD_LEVEL,\n\
COMPRESSOR_MAX_BLOB_SIZE, COMPRESSOR_WORKERS, COMPRESSOR_QUEUE, RUST_LOG.";

enum Command {
    Serve,
    Scrub,
}

/// Runs the command line; returns the process exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    let command = match args {
        [] => Command::Serve,
        [cmd] if cmd == "serve" => Command::Serve,
        [cmd] if cmd == "scrub" => Command::Scrub,
        [cmd] if cmd == "healthcheck" => return run_healthcheck(),
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return 0;
        }
        _ => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async {
        let config = match config::Config::from_env() {
            Ok(config) => config,
            Err(e) => {
                tracing::error!("invalid configuration: {e}");
                return 2;
            }
        };
        match command {
            Command::Serve => serve(config).await,
            Command::Scrub => run_scrub(config).await,
        }
    })
}

/// Exit codes as Docker's HEALTHCHECK reads them: 0 healthy, 1 unhealthy. Runs without the
/// async runtime or logging, as it is started every few seconds.
fn run_healthcheck() -> i32 {
    let result = config::Config::from_env()
        .map_err(|e| format!("invalid configuration: {e}"))
        .and_then(|c| {
            healthcheck::check_config(&c, HEALTHCHECK_TIMEOUT).map_err(|e| e.to_string())
        });
    match result {
        Ok(()) => {
            println!("ready");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

async fn serve(config: config::Config) -> i32 {
    let running = match app::start(config).await {
        Ok(running) => running,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return 1;
        }
    };
    app::shutdown_signal().await;
    match tokio::time::timeout(SHUTDOWN_GRACE, running.stop()).await {
        Err(_) => {
            tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; exiting anyway");
            0
        }
        Ok(Ok(())) => {
            tracing::info!("stopped");
            0
        }
        Ok(Err(e)) => {
            tracing::error!("server error: {e}");
            1
        }
    }
}

async fn run_scrub(config: config::Config) -> i32 {
    let index = match index::Index::connect(&config.database_url).await {
        Ok(index) => index,
        Err(e) => {
            tracing::error!("cannot open the index: {e}");
            return 3;
        }
    };
    let store = std::sync::Arc::new(store::FsStore::existing(&config.data_dir));
    let registry = std::sync::Arc::new(codec::Registry::standard(
        config.zstd_level,
        config.deflate_zstd_level,
    ));
    let result = scrub::scrub(&index, store, registry, &mut std::io::stdout()).await;
    index.close().await;
    match result {
        Ok(report) => {
            for ((codec, version), n) in &report.by_codec {
                println!("checked {n} {codec} blobs ({version})");
            }
            println!(
                "{} blobs checked, {} corrupt",
                report.checked,
                report.corrupt.len()
            );
            i32::from(!report.corrupt.is_empty())
        }
        Err(e) => {
            tracing::error!("scrub stopped: {e}");
            3
        }
    }
}
