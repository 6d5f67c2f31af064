//! Wiring: state shared by the handlers, start-up, serving and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::codec::Registry;
use crate::config::{Config, ConfigError};
use crate::index::{Index, IndexError};
use crate::locks::KeyedLocks;
use crate::metrics::Metrics;
use crate::store::{BlobStore, FsStore};
use crate::token::TokenError;

pub struct AppState {
    pub index: Index,
    pub store: Arc<dyn BlobStore>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    /// One writer per blob id.
    pub locks: KeyedLocks,
    /// Bounds how many blobs are compressed at once.
    pub workers: Arc<Semaphore>,
    /// Bounds how many new blobs are received, waiting or compressed at once.
    pub admission: Arc<Semaphore>,
    pub token: String,
    pub max_blob_size: u64,
}

pub type SharedState = Arc<AppState>;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot open the index: {0}")]
    Index(#[from] IndexError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StartError {
    move |source| StartError::Io { context, source }
}

/// A running service.
pub struct Running {
    pub addr: SocketAddr,
    state: SharedState,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting connections, lets requests in flight finish, then closes the index.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        let result = self
            .task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.state.index.close().await;
        result
    }
}

/// Opens the data directory, the token, the index and the listener, and starts serving.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let data_dir = &config.data_dir;
    std::fs::create_dir_all(data_dir)
        .map_err(io_error(format!("cannot create {}", data_dir.display())))?;
    let token = match config.token.clone() {
        Some(token) => token,
        None => crate::token::load_or_create(data_dir)?,
    };
    let store = FsStore::open(data_dir).map_err(io_error(format!(
        "cannot open the blob store in {}",
        data_dir.display()
    )))?;
    let index = Index::connect(&config.database_url).await?;
    let state = Arc::new(AppState {
        index,
        store: Arc::new(store),
        registry: Arc::new(
            Registry::standard(config.zstd_level, config.deflate_zstd_level)
                .with_memory_budget(config.memory_budget),
        ),
        metrics: Arc::new(Metrics::default()),
        locks: KeyedLocks::default(),
        workers: Arc::new(Semaphore::new(config.workers)),
        admission: Arc::new(Semaphore::new(config.workers + config.queue)),
        token,
        max_blob_size: config.max_blob_size,
    });
    let bind = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&bind)
        .await
        .map_err(io_error(format!("cannot listen on {bind}")))?;
    let addr = listener
        .local_addr()
        .map_err(io_error("cannot read the bound address".into()))?;
    let app = crate::routes::router(state.clone());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!("listening on {addr}");
    Ok(Running {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the service with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
    }
}
