//! `GET /v1/stream` (spec §12.6): a WebSocket that pushes envelopes as they are deposited.
//!
//! The client's first binary frame is a `SubscribeRequest` naming up to
//! `MAX_SUBSCRIPTIONS` read capabilities. The relay registers the mailboxes, sends the
//! envelopes already stored in them (up to one fetch page each), then one `Delivery` frame
//! per new deposit. Pushed envelopes still need an ack (`POST /v1/ack`); a push dropped
//! because the connection is slow is fetched later. A refusal is one `ErrorResponse` frame,
//! then close.

use crate::app::Relay;
use crate::limits;
use crate::push::Frame;
use crate::store::Store;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use blindrelay::codec::{Decode, Encode};
use blindrelay::relay::{Delivery, ErrorResponse, SubscribeRequest, MAX_FETCH_LIMIT};
use blindrelay::Error;
use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Counts an open connection; the count drops when this does.
struct Connection<S: Store>(Arc<Relay<S>>);

impl<S: Store> Drop for Connection<S> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn stream<S: Store>(
    State(relay): State<Arc<Relay<S>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let open = relay.connections.fetch_add(1, Ordering::Relaxed);
    let guard = Connection(Arc::clone(&relay));
    if open >= limits::MAX_WS_CONNECTIONS {
        drop(guard);
        return crate::app::Refusal::of(&Error::TooManySubscriptions).into_response();
    }
    upgrade
        .max_message_size(2 + 1 + 32 * blindrelay::relay::MAX_SUBSCRIPTIONS)
        // A subscribe frame is at most 1027 bytes: a small read buffer keeps an idle
        // subscriber at about 8 KiB instead of the default 128 KiB (10k subscribers: ~90 MiB).
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(relay, socket, guard))
        .into_response()
}

async fn refuse(mut socket: WebSocket, error: &Error) {
    let frame = ErrorResponse::of(error).to_bytes();
    let _ = socket.send(Message::Binary(frame.into())).await;
    let _ = socket.close().await;
}

async fn serve<S: Store>(relay: Arc<Relay<S>>, mut socket: WebSocket, _guard: Connection<S>) {
    let first = tokio::time::timeout(
        Duration::from_secs(limits::SUBSCRIBE_TIMEOUT_SECS),
        socket.next(),
    )
    .await;
    let request = match first {
        Ok(Some(Ok(Message::Binary(bytes)))) => SubscribeRequest::decode_exact(&bytes),
        Ok(Some(Ok(_))) => Err(Error::UnknownMessageType(0)),
        _ => return,
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return refuse(socket, &e).await,
    };
    let mailboxes: Vec<[u8; 32]> = request.capabilities.iter().map(|c| c.mailbox()).collect();
    drop(request);
    let (tx, mut rx) = mpsc::channel::<Frame>(limits::WS_QUEUE_LEN);
    let id = relay.push.subscribe(&mailboxes, &tx);
    drop(tx);
    // The backlog: what was stored before the subscription (registered first, so nothing
    // deposited in between is missed; a duplicate push is harmless, §7.6).
    for mailbox in &mailboxes {
        let stored = match relay
            .store
            .fetch(*mailbox, 0, usize::from(MAX_FETCH_LIMIT), relay.clock.now())
            .await
        {
            Ok(s) => s,
            Err(_) => break,
        };
        for s in stored {
            let frame = Delivery {
                mailbox: *mailbox,
                seq: s.seq,
                envelope: s.envelope,
            }
            .to_bytes();
            if socket.send(Message::Binary(frame.into())).await.is_err() {
                relay.push.unsubscribe(id, &mailboxes);
                return;
            }
        }
    }
    let (mut sink, mut incoming) = socket.split();
    loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if sink.send(Message::Binary(frame.as_slice().to_vec().into())).await.is_err() {
                    break;
                }
            }
            message = incoming.next() => {
                match message {
                    // Pings and pongs keep the connection; any data frame after the
                    // subscription is a protocol violation, and a close ends it (§12.6).
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    _ => break,
                }
            }
        }
    }
    relay.push.unsubscribe(id, &mailboxes);
}
