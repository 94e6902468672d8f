//! Starting and stopping the HTTP server.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::{HttpServer, web};

use crate::state::AppState;
use crate::telemetry::Metrics;

/// Binds `listener` and returns the running server (not yet awaited) and its
/// address. actix stops gracefully on SIGTERM/SIGINT: it stops accepting and
/// lets requests in flight finish (up to 30 s).
pub fn start(state: AppState, listener: TcpListener) -> std::io::Result<(Server, SocketAddr)> {
    let addr = listener.local_addr()?;
    let workers = state.config.workers;
    let state = web::Data::new(state);
    let metrics = web::Data::new(Metrics::new());
    let server = HttpServer::new(move || crate::build_app(state.clone(), metrics.clone()))
        .workers(workers)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
    Ok((server, addr))
}
