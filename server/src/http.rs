//! The HTTP side of the relay's port: `GET /healthz`, `GET /metrics`, the
//! WebSocket upgrade at `/ws` (refused with 503 past the connection limit, 403 for a
//! browser page of another origin), and the web client's files at `GET /` (`web.rs`);
//! `/metrics` may need a bearer token (`access.rs`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, HeaderValue, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::task::TaskTracker;
use tracing::debug;

use crate::access;
use crate::connection;
use crate::guard::HostPermit;
use crate::metered::MeteredRead;
use crate::shared::Shared;
use crate::socket::FrameWriter;

/// tungstenite's read buffer per connection (its default is 128 KiB).
const READ_BUFFER_BYTES: usize = 8 * 1024;

type Body = Full<Bytes>;

/// Time allowed for an HTTP request's headers.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves one TCP connection: plain HTTP requests, or one upgrade to WebSocket.
pub async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    host: HostPermit,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
) {
    let service = {
        let shared = shared.clone();
        service_fn(move |req| {
            let reply = route(
                req,
                peer,
                host.clone(),
                shared.clone(),
                permits.clone(),
                tracker.clone(),
            );
            async move { Ok::<_, Infallible>(reply) }
        })
    };
    // A peer that opens a connection and never finishes its request headers is
    // dropped after 10 s instead of holding a task forever.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                debug!(%peer, error = %e, "http connection ended with an error");
            }
        }
        () = shared.shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), conn).await;
        }
    }
}

fn route(
    req: Request<Incoming>,
    peer: SocketAddr,
    host: HostPermit,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/ws") => upgrade(req, peer, host, shared, permits, tracker),
        (&Method::GET, "/healthz") => {
            let gauges = shared.gauges();
            let body = serde_json::json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "rooms": gauges.rooms,
                "connections": gauges.connections,
            });
            reply(StatusCode::OK, "application/json", body.to_string())
        }
        (&Method::GET, "/metrics") => {
            let authorization = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
            if !access::metrics_authorized(authorization, shared.config.metrics_token.as_deref()) {
                let mut response = reply(
                    StatusCode::UNAUTHORIZED,
                    "text/plain",
                    "/metrics needs its bearer token\n".into(),
                );
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            let mut page = shared.metrics.render(shared.gauges());
            page.push_str(&crate::metrics::render_history(
                shared.rooms_in_memory(),
                shared.store.room_count(),
                shared.store.history_bytes(),
                shared.store.ram_bytes(),
            ));
            reply(StatusCode::OK, "text/plain; version=0.0.4", page)
        }
        (_, "/ws" | "/healthz" | "/metrics") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "use GET\n".into(),
        ),
        (&Method::GET, path) => match crate::web::response(path, req.headers()) {
            Some(page) => page,
            None => not_found(),
        },
        _ => not_found(),
    }
}

fn not_found() -> Response<Body> {
    let mut response = reply(
        StatusCode::NOT_FOUND,
        "text/plain",
        "not found: the page is at /, and /ws, /healthz, /metrics\n".into(),
    );
    response.headers_mut().insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn header_has(req: &Request<Incoming>, name: hyper::header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Answers the WebSocket handshake and hands the upgraded stream to a connection task.
fn upgrade(
    mut req: Request<Incoming>,
    peer: SocketAddr,
    host: HostPermit,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
) -> Response<Body> {
    let key = req.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let is_upgrade =
        header_has(&req, CONNECTION, "upgrade") && header_has(&req, UPGRADE, "websocket");
    let version_ok = req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let (Some(key), true, true) = (key, is_upgrade, version_ok) else {
        return reply(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "this is the Snapwire WebSocket endpoint: connect with a WebSocket client (version 13)\n".into(),
        );
    };
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if !access::origin_allowed(header(ORIGIN), header(HOST), &shared.config.allowed_origins) {
        shared
            .metrics
            .origin_refusals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        debug!(%peer, origin = header(ORIGIN), "upgrade refused for its origin");
        return reply(
            StatusCode::FORBIDDEN,
            "text/plain",
            "this page may not connect to the relay (start it with --allow-origin to allow it)\n"
                .into(),
        );
    }
    let Ok(permit) = permits.try_acquire_owned() else {
        shared
            .metrics
            .connections_rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "the relay is at its connection limit\n".into(),
        );
    };
    if shared.shutdown.is_cancelled() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "the relay is stopping\n".into(),
        );
    }
    shared
        .metrics
        .connections_accepted
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let max_message = shared.config.max_message_bytes();
    tracker.spawn(async move {
        let _permit = permit;
        // The connection counts against its host until it ends.
        let _host = host;
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                debug!(%peer, error = %e, "upgrade failed");
                return;
            }
        };
        // The relay serves plain TCP, so the upgraded stream is the socket itself:
        // split it so tungstenite reads and our own frame writer writes (`socket.rs`).
        let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => parts,
            Err(_) => {
                debug!(%peer, "upgraded stream is not a TCP socket");
                return;
            }
        };
        let (read, write) = parts.io.into_inner().into_split();
        // A small read buffer: an idle connection keeps it for its whole life, and a
        // large message is read into a buffer reserved for it anyway.
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        // What hyper read past the request goes through the meter too.
        let reader = MeteredRead::new(
            read,
            parts.read_buf.to_vec(),
            shared.budget.clone(),
            max_message,
        );
        let meter = reader.meter();
        let ws = WebSocketStream::from_raw_socket(reader, Role::Server, Some(config)).await;
        let writer = FrameWriter::new(write, shared.config.stalled_timeout);
        connection::run(ws, meter, writer, peer, shared).await;
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}
