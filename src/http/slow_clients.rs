//! Defences against clients that hold a connection open without finishing their
//! request. Request heads and idle keep-alive connections are bounded by the server's
//! deadlines (`startup.rs`, `GAPRELAY_CLIENT_REQUEST_TIMEOUT`, `GAPRELAY_KEEP_ALIVE`),
//! bodies by a deadline where they are read (`extract.rs`,
//! `GAPRELAY_BODY_READ_TIMEOUT`). This module closes the gap those leave: a body sent
//! in chunks (`Transfer-Encoding: chunked`) that nobody reads is drained by the server
//! for as long as the client keeps dripping it, with no deadline at all. Every body
//! must therefore declare its length; a chunked one is refused with 411 and the
//! connection closed. And actix-web times only the head of a connection's *first*
//! request: a client that finishes one request and then drips the next one's head is
//! never cut off. A watch on each plain-TCP connection ([`watch_connection`],
//! [`track_requests`]) closes it when it has been between requests for longer than the
//! keep-alive and head deadlines together.

use super::error::ApiError;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode, Version};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, ResponseError};
use std::cell::Cell;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Middleware refusing HTTP/1 requests whose body is sent in chunks (411
/// `length_required`). Browsers, `fetch` and common HTTP clients send a
/// `Content-Length` with every body they have in hand, so only a streaming client
/// meets this, and it can send the same body with its length.
pub async fn require_length(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, UnreadBody>>, actix_web::Error> {
    let chunked =
        req.version() < Version::HTTP_2 && req.headers().contains_key(header::TRANSFER_ENCODING);
    if !chunked {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let payload = req.take_payload();
    let (http, _) = req.into_parts();
    let res = ApiError::new(
        StatusCode::LENGTH_REQUIRED,
        "length_required",
        "send the body in one piece with a Content-Length header",
    )
    .error_response()
    .map_body(|_, body| UnreadBody {
        body,
        _payload: payload,
    });
    Ok(ServiceResponse::new(http, res).map_into_right_body())
}

/// A response body that keeps the request's unread body alive until it is sent. The
/// server closes a connection whose request body is unread and still wanted, but
/// drains one whose reader is gone; holding the reader makes it close.
pub struct UnreadBody {
    body: BoxBody,
    _payload: Payload,
}

impl MessageBody for UnreadBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// What the watch knows of one connection: how many of its requests are being
/// handled, and since when none has been.
pub struct ConnectionWatch {
    /// A second handle on the connection's socket, to shut it down with.
    socket: std::net::TcpStream,
    in_flight: Cell<u32>,
    idle_since: Cell<Instant>,
}

/// Called by the server for each new connection (`HttpServer::on_connect`): watches a
/// plain TCP connection and shuts it down once it has been between requests for longer
/// than `limit` (the keep-alive deadline plus the head deadline: an idle connection
/// has closed by then, and a request begun has had its time to arrive). Connections
/// the relay terminates TLS on are not watched (see docs/security.md).
pub fn watch_connection(
    connection: &dyn std::any::Any,
    data: &mut actix_web::dev::Extensions,
    limit: Duration,
) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(fd) = stream.as_fd().try_clone_to_owned() else {
            return;
        };
        let watch = Rc::new(ConnectionWatch {
            socket: std::net::TcpStream::from(fd),
            in_flight: Cell::new(0),
            idle_since: Cell::new(Instant::now()),
        });
        actix_web::rt::spawn(watch_until_closed(Rc::downgrade(&watch), limit));
        // The connection's data is dropped with the connection, and the watch's socket
        // handle with it: the watch holds only a weak reference, so it never keeps a
        // closed connection's socket open.
        data.insert(watch);
    }
    #[cfg(not(unix))]
    {
        let _ = (connection, data, limit);
    }
}

async fn watch_until_closed(watch: Weak<ConnectionWatch>, limit: Duration) {
    loop {
        let wake_at = {
            let Some(w) = watch.upgrade() else {
                return;
            };
            let deadline = w.idle_since.get() + limit;
            if w.in_flight.get() == 0 && Instant::now() >= deadline {
                let _ = w.socket.shutdown(std::net::Shutdown::Both);
                return;
            }
            if w.in_flight.get() == 0 {
                deadline
            } else {
                Instant::now() + limit
            }
        };
        actix_web::rt::time::sleep_until(wake_at.into()).await;
    }
}

/// Middleware telling the connection's watch when a request starts and ends.
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let watch = req.conn_data::<Rc<ConnectionWatch>>().cloned();
    if let Some(w) = &watch {
        w.in_flight.set(w.in_flight.get() + 1);
    }
    let res = next.call(req).await;
    if let Some(w) = &watch {
        w.in_flight.set(w.in_flight.get().saturating_sub(1));
        w.idle_since.set(Instant::now());
    }
    res
}
