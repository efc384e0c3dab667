//! A typed client of the relay API (spec §12), over HTTP and WebSocket: what the demo, the
//! end-to-end tests, the crash test and the load benchmark speak. Plain HTTP: put TLS in
//! front of a relay that is not on loopback (README).

use blindrelay::codec::{Decode, Encode};
use blindrelay::contact::{
    DiscoveryParameters, LookupRequest, LookupResponse, OprfRequest, OprfResponse, OracleParameters,
};
use blindrelay::relay::{
    AckRequest, ClaimRequest, ClaimResponse, CountResponse, Delivery, ErrorResponse, FetchRequest,
    FetchResponse, OwnerRequest, OwnerRequestKind, PublishRequest, RegisterRequest,
    SubscribeRequest, UploadKeysRequest,
};
use blindrelay::route::ReadCapability;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Why a request did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The relay refused it: the HTTP status and the stable code of its `ErrorResponse`
    /// (spec §12.10).
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error code (`spec/errors.md`).
        code: u16,
    },
    /// The connection failed.
    Transport(String),
    /// The relay answered with bytes that do not decode as the expected response.
    Malformed(blindrelay::Error),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Refused { status, code } => {
                let name = ErrorResponse { code: *code }
                    .name()
                    .unwrap_or("unregistered");
                write!(f, "relay refused: HTTP {status}, code {code} ({name})")
            }
            Self::Transport(m) => write!(f, "transport: {m}"),
            Self::Malformed(e) => write!(f, "malformed response: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The stable code, if the relay refused.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A client of one relay.
#[derive(Clone, Debug)]
pub struct RelayClient {
    base: String,
    http: reqwest::Client,
}

impl RelayClient {
    /// A client of the relay at `base` (e.g. `http://127.0.0.1:8780`).
    #[must_use]
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends `body` to `POST path`; returns the status and body of a success, the refusal
    /// otherwise.
    ///
    /// # Errors
    /// [`ClientError::Refused`] for a non-2xx answer, [`ClientError::Transport`].
    pub async fn post(&self, path: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), ClientError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        finish(response).await
    }

    /// `GET path`.
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn get(&self, path: &str) -> Result<(u16, Vec<u8>), ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        finish(response).await
    }

    /// Publishes or replaces a bundle (`POST /v1/publish`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn publish(&self, request: &PublishRequest) -> Result<(), ClientError> {
        self.post("/v1/publish", request.to_bytes()).await.map(drop)
    }

    /// Uploads one-time prekeys (`POST /v1/keys`); returns the counts after.
    ///
    /// # Errors
    /// As [`RelayClient::post`], [`ClientError::Malformed`].
    pub async fn upload_keys(
        &self,
        request: &UploadKeysRequest,
    ) -> Result<CountResponse, ClientError> {
        decoded(self.post("/v1/keys", request.to_bytes()).await?)
    }

    /// How many one-time prekeys are left (`POST /v1/count`).
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn count(&self, capability: &ReadCapability) -> Result<CountResponse, ClientError> {
        let r = owner(OwnerRequestKind::Count, capability);
        decoded(self.post("/v1/count", r.to_bytes()).await?)
    }

    /// Deletes the owner's bundle, pool and registrations (`POST /v1/delete`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn delete(&self, capability: &ReadCapability) -> Result<(), ClientError> {
        let r = owner(OwnerRequestKind::Delete, capability);
        self.post("/v1/delete", r.to_bytes()).await.map(drop)
    }

    /// Claims the bundle of `mailbox` (`POST /v1/claim`). Unverified: the caller runs
    /// [`ClaimResponse::verify`] at its own clock.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn claim(&self, mailbox: [u8; 32]) -> Result<ClaimResponse, ClientError> {
        decoded(
            self.post("/v1/claim", ClaimRequest { mailbox }.to_bytes())
                .await?,
        )
    }

    /// Deposits a relay envelope (`POST /v1/deposit`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn deposit(&self, envelope: Vec<u8>) -> Result<(), ClientError> {
        self.post("/v1/deposit", envelope).await.map(drop)
    }

    /// Sends a blind commit (`POST /v1/commit`, spec §12.5, §15.6): `request` is an encoded
    /// commit request (`0x31`, `blindrelay::group::CommitRequest::to_bytes`). A refusal
    /// carries the relay's code: `CommitSlotTaken` (812) when another commit closed the
    /// epoch first, `WrongMailbox` (500) when the token does not open the envelope's
    /// mailbox.
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn commit(&self, request: &[u8]) -> Result<(), ClientError> {
        self.post("/v1/commit", request.to_vec()).await.map(drop)
    }

    /// Fetches envelopes with seq above `after` (`POST /v1/fetch`).
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn fetch(
        &self,
        capability: &ReadCapability,
        after: u64,
        limit: u16,
    ) -> Result<FetchResponse, ClientError> {
        let r = FetchRequest {
            capability: ReadCapability::from_bytes(capability.to_bytes()),
            after,
            limit,
        };
        decoded(self.post("/v1/fetch", r.to_bytes()).await?)
    }

    /// Acknowledges every envelope up to `up_to` (`POST /v1/ack`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn ack(&self, capability: &ReadCapability, up_to: u64) -> Result<(), ClientError> {
        let r = AckRequest {
            capability: ReadCapability::from_bytes(capability.to_bytes()),
            up_to,
        };
        self.post("/v1/ack", r.to_bytes()).await.map(drop)
    }

    /// The relay's signed discovery parameters (`GET /v1/discovery`), unverified.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn discovery(&self) -> Result<DiscoveryParameters, ClientError> {
        decoded(self.get("/v1/discovery").await?)
    }

    /// Registers as discoverable (`POST /v1/register`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn register(&self, request: &RegisterRequest) -> Result<(), ClientError> {
        self.post("/v1/register", request.to_bytes())
            .await
            .map(drop)
    }

    /// Removes the owner's registrations (`POST /v1/deregister`).
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn deregister(&self, capability: &ReadCapability) -> Result<(), ClientError> {
        let r = owner(OwnerRequestKind::Deregister, capability);
        self.post("/v1/deregister", r.to_bytes()).await.map(drop)
    }

    /// Looks up buckets (`POST /v1/lookup`).
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn lookup(&self, request: &LookupRequest) -> Result<LookupResponse, ClientError> {
        decoded(self.post("/v1/lookup", request.to_bytes()).await?)
    }

    /// The oracle's signed parameters as the relay serves them (`GET /v1/oracle`, spec
    /// §14.5), unverified: the caller runs `OracleParameters::verify` under the oracle key
    /// it pinned.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn oracle_parameters(&self) -> Result<OracleParameters, ClientError> {
        decoded(self.get("/v1/oracle").await?)
    }

    /// Has the relay forward an OPRF request to its oracle, charged to the account of
    /// `capability` (`POST /v1/oprf`, spec §14.5). Unverified: the caller finalizes it
    /// with `VerifiedOracle::finalize`, which checks the proof.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn oprf(
        &self,
        capability: &ReadCapability,
        request: &OprfRequest,
    ) -> Result<OprfResponse, ClientError> {
        let body = crate::oprf::OprfRelayRequest {
            capability: ReadCapability::from_bytes(capability.to_bytes()),
            request: request.clone(),
        };
        decoded(self.post("/v1/oprf", body.to_bytes()).await?)
    }

    /// Opens `GET /v1/stream` and subscribes to the mailboxes of `capabilities`.
    ///
    /// # Errors
    /// [`ClientError::Transport`] if the connection or the subscription frame fails.
    pub async fn subscribe(
        &self,
        capabilities: &[&ReadCapability],
    ) -> Result<Subscription, ClientError> {
        let url = format!("{}/v1/stream", self.base.replacen("http", "ws", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let request = SubscribeRequest {
            capabilities: capabilities
                .iter()
                .map(|c| ReadCapability::from_bytes(c.to_bytes()))
                .collect(),
        };
        socket
            .send(Message::Binary(request.to_bytes().into()))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Subscription { socket })
    }
}

/// A client of an oracle (spec §14.3): what a relay speaks, and what tests use to talk to
/// an oracle directly. Clients of the protocol never contact the oracle (§14.1).
#[derive(Clone, Debug)]
pub struct OracleClient {
    inner: RelayClient,
}

impl OracleClient {
    /// A client of the oracle at `base` (e.g. `http://127.0.0.1:8790`).
    #[must_use]
    pub fn new(base: &str) -> Self {
        Self {
            inner: RelayClient::new(base),
        }
    }

    /// The oracle's current signed parameters (`GET /v1/parameters`), unverified.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn parameters(&self) -> Result<OracleParameters, ClientError> {
        decoded(self.inner.get("/v1/parameters").await?)
    }

    /// Sends raw `body` to `POST /v1/evaluate` with `Authorization: Bearer <hex>` if
    /// `credential` is given.
    ///
    /// # Errors
    /// As [`RelayClient::post`].
    pub async fn evaluate_raw(
        &self,
        credential: Option<&[u8; 32]>,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut request = self
            .inner
            .http
            .post(format!("{}/v1/evaluate", self.inner.base))
            .header("content-type", "application/octet-stream")
            .body(body);
        if let Some(secret) = credential {
            request = request.header(
                "authorization",
                format!("Bearer {}", crate::oprf::hex(secret)),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        finish(response).await
    }

    /// Evaluates `request` as the relay whose bearer credential is `credential`
    /// (`POST /v1/evaluate`), unverified.
    ///
    /// # Errors
    /// As [`RelayClient::upload_keys`].
    pub async fn evaluate(
        &self,
        credential: &[u8; 32],
        request: &OprfRequest,
    ) -> Result<OprfResponse, ClientError> {
        decoded(
            self.evaluate_raw(Some(credential), request.to_bytes())
                .await?,
        )
    }
}

fn owner(kind: OwnerRequestKind, capability: &ReadCapability) -> OwnerRequest {
    OwnerRequest {
        kind,
        capability: ReadCapability::from_bytes(capability.to_bytes()),
    }
}

async fn finish(response: reqwest::Response) -> Result<(u16, Vec<u8>), ClientError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?
        .to_vec();
    if (200..300).contains(&status) {
        return Ok((status, body));
    }
    let code = ErrorResponse::decode_exact(&body).map_or(0, |e| e.code);
    Err(ClientError::Refused { status, code })
}

fn decoded<T: Decode>((_, body): (u16, Vec<u8>)) -> Result<T, ClientError> {
    T::decode_exact(&body).map_err(ClientError::Malformed)
}

/// An open subscription: yields one [`Delivery`] per pushed envelope.
pub struct Subscription {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscription {
    /// The next pushed envelope; `Ok(None)` when the relay closed the connection.
    ///
    /// # Errors
    /// [`ClientError::Refused`] if the relay sent an `ErrorResponse` frame,
    /// [`ClientError::Malformed`] for a frame that is neither, [`ClientError::Transport`].
    pub async fn next(&mut self) -> Result<Option<Delivery>, ClientError> {
        loop {
            let Some(message) = self.socket.next().await else {
                return Ok(None);
            };
            match message.map_err(|e| ClientError::Transport(e.to_string()))? {
                Message::Binary(bytes) => {
                    if let Ok(refusal) = ErrorResponse::decode_exact(&bytes) {
                        return Err(ClientError::Refused {
                            status: 0,
                            code: refusal.code,
                        });
                    }
                    return Delivery::decode_exact(&bytes)
                        .map(Some)
                        .map_err(ClientError::Malformed);
                }
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
