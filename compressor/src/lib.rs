//! Trove compressor: a content-addressed blob store that keeps every file byte-exact in fewer
//! bytes. See `docs/API.md` for the HTTP contract.

pub mod app;
pub mod codec;
pub mod config;
pub mod error;
pub mod frames;
pub mod index;
pub mod ingest;
pub mod locks;
pub mod metrics;
pub mod range;
pub mod routes;
pub mod store;
pub mod token;
pub mod verify;

use tracing_subscriber::EnvFilter;

/// How long requests in flight may take to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

const USAGE: &str = "usage: trove-compressor [serve]\n\n\
Serves the Trove compressor API. Configuration comes from the environment:\n\
COMPRESSOR_HOST, COMPRESSOR_PORT, COMPRESSOR_DATA_DIR (or TROVE_DATA_DIR),\n\
COMPRESSOR_DATABASE_URL, COMPRESSOR_TOKEN, COMPRESSOR_ZSTD_LEVEL,\n\
COMPRESSOR_MAX_BLOB_SIZE, COMPRESSOR_WORKERS, RUST_LOG.";

/// Runs the command line; returns the process exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    match args {
        [] => {}
        [cmd] if cmd == "serve" => {}
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return 0;
        }
        _ => {
            eprintln!("{USAGE}");
            return 2;
        }
    }
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
    })
}
