//! The oracle's side and the client's side of one `ch2` evaluation on the wire (spec §13.6,
//! §13.7): signing and verifying the oracle's parameters, answering an [`OprfRequest`], and
//! finalizing an [`OprfResponse`]. Joins the codec of [`super::oracle_wire`] with the
//! crypto of [`super::oprf`].

use super::oprf::{
    BlindState, BlindedElement, Ch2Id, EvaluatedElement, Evaluation, OracleKey, OraclePublicKey,
};
use super::oracle_wire::{OprfRequest, OprfResponse, OracleParameters};
use super::params::{check_window, window_error};
use crate::crypto::{sig, CryptoRng, RngCore};
use crate::keys::IdentityKeyPair;
use crate::Error;
use alloc::vec::Vec;

/// Signature context of the oracle's parameters (spec §13.6).
pub(crate) const ORACLE_PARAMETERS_CONTEXT: &[u8] = b"blindrelay v1 oracle parameters";

impl OracleParameters {
    /// The oracle's parameters for `key`'s epoch, signed with the oracle's long-term
    /// Ed25519 identity (whose public signing key clients pin), valid from `issued_at`
    /// until `expires_at` (spec §13.6).
    ///
    /// # Errors
    /// [`Error::Expired`] if the window is empty or longer than
    /// [`MAX_PARAMETERS_LIFETIME_SECS`](super::MAX_PARAMETERS_LIFETIME_SECS).
    pub fn sign(
        oracle: &IdentityKeyPair,
        key: &OracleKey,
        issued_at: u64,
        expires_at: u64,
    ) -> Result<Self, Error> {
        window_error(issued_at, expires_at)?;
        let mut params = Self {
            key_epoch: key.key_epoch(),
            oprf_public_key: key.public_key().to_bytes(),
            issued_at,
            expires_at,
            signature: [0u8; 64],
        };
        params.signature = oracle.sign(&params.signature_input());
        Ok(params)
    }

    /// `ORACLE_PARAMETERS_CONTEXT || unsigned encoding` (spec §13.6).
    #[must_use]
    pub fn signature_input(&self) -> Vec<u8> {
        let mut input = ORACLE_PARAMETERS_CONTEXT.to_vec();
        input.extend_from_slice(&self.unsigned_bytes());
        input
    }

    /// Verifies the parameters under the oracle key the client pinned, at the client's
    /// clock `now` (spec §13.6), in this order: the signature, the window (as discovery
    /// parameters, §9.6), then the OPRF public key's encoding.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] or [`Error::BadSignature`] from the signature;
    /// [`Error::Expired`] from the times; [`Error::OprfInvalidElement`] for a public key
    /// that is not a canonical, non-identity ristretto255 element.
    pub fn verify(self, oracle_key: &[u8; 32], now: u64) -> Result<VerifiedOracle, Error> {
        sig::verify(oracle_key, &self.signature_input(), &self.signature)?;
        check_window(self.issued_at, self.expires_at, now)?;
        let public = OraclePublicKey::from_bytes(self.oprf_public_key)?;
        Ok(VerifiedOracle {
            oracle_key: *oracle_key,
            key_epoch: self.key_epoch,
            public,
            window: (self.issued_at, self.expires_at),
        })
    }
}

/// Oracle parameters whose signature and window verified under the pinned oracle key: the
/// key epoch and the OPRF public key every evaluation's proof is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedOracle {
    oracle_key: [u8; 32],
    key_epoch: u32,
    public: OraclePublicKey,
    /// `(issued_at, expires_at)` of the verified parameters.
    window: (u64, u64),
}

impl VerifiedOracle {
    /// Whether the verified parameters are still valid at `now` (the time check of
    /// [`OracleParameters::verify`], without the signature): for a party that keeps them,
    /// such as a relay answering many requests with one verification.
    ///
    /// # Errors
    /// [`Error::Expired`] outside the parameters' window (clock skew allowed as in
    /// §13.9).
    pub fn check_time(&self, now: u64) -> Result<(), Error> {
        check_window(self.window.0, self.window.1, now)
    }

    /// The oracle's pinned Ed25519 key.
    #[must_use]
    pub fn oracle_key(&self) -> &[u8; 32] {
        &self.oracle_key
    }

    /// The key epoch.
    #[must_use]
    pub fn key_epoch(&self) -> u32 {
        self.key_epoch
    }

    /// The OPRF public key of the epoch.
    #[must_use]
    pub fn public_key(&self) -> &OraclePublicKey {
        &self.public
    }

    /// Checks that `discovery` (a relay's verified parameters) is `ch2` and names this
    /// oracle and key epoch (spec §13.9): the check [`VerifiedOracle::request`] makes, for
    /// a client that answers from `ch2` ids it kept instead of blinding.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] if `discovery` is not `ch2` or names another oracle or key
    /// epoch.
    pub fn named_by(&self, discovery: &super::VerifiedDiscovery) -> Result<(), Error> {
        match discovery.params().oracle() {
            Some(b) if b.oracle_key == self.oracle_key && b.key_epoch == self.key_epoch => Ok(()),
            _ => Err(Error::LookupMismatch),
        }
    }

    /// Blinds `contacts` (their `ch1` ids under `discovery`'s salt, spec §13.4) into the
    /// request to send through the relay, and the secret state to finalize its response
    /// with. `discovery` must be the relay's verified `ch2` parameters, and they must name
    /// this oracle and key epoch (spec §13.9): a relay cannot route a client to an oracle
    /// the client did not pin.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] if `discovery` is not `ch2` or names another oracle or key
    /// epoch; [`Error::OprfBatchSize`] for no contacts or more than
    /// [`super::oprf::MAX_OPRF_BATCH`].
    pub fn request(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        discovery: &super::VerifiedDiscovery,
        contacts: &[super::ContactId],
    ) -> Result<(BlindState, OprfRequest), Error> {
        self.named_by(discovery)?;
        let (state, blinded) = super::oprf::blind(rng, contacts)?;
        let request = OprfRequest::new(
            self.key_epoch,
            blinded.iter().map(BlindedElement::to_bytes).collect(),
        )?;
        Ok((state, request))
    }

    /// Finalizes the oracle's `response` to the batch `state` was blinded for (spec §13.4,
    /// §13.9), in this order: the epoch must be this one (615), the count the batch's
    /// (622), every element must decode (620), and the batch proof must verify under the
    /// pinned public key (621) before any id is derived.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] for a response under another key epoch;
    /// [`Error::OprfInvalidElement`], [`Error::OprfBatchSize`], [`Error::OprfProofInvalid`]
    /// as [`BlindState::finalize`].
    pub fn finalize(
        &self,
        state: BlindState,
        response: &OprfResponse,
    ) -> Result<Vec<Ch2Id>, Error> {
        if response.key_epoch() != self.key_epoch {
            return Err(Error::LookupMismatch);
        }
        if response.evaluated().len() != state.len() {
            return Err(Error::OprfBatchSize);
        }
        let elements = response
            .evaluated()
            .iter()
            .map(EvaluatedElement::from_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        let evaluation = Evaluation {
            elements,
            proof: *response.proof(),
        };
        state.finalize(&self.public, self.key_epoch, &evaluation)
    }
}

impl OracleKey {
    /// The oracle's answer to a request (spec §13.7): the epoch must be this key's, every
    /// blinded element must decode; then one batch evaluation with one proof.
    ///
    /// # Errors
    /// [`Error::LookupMismatch`] for another key epoch; [`Error::OprfInvalidElement`] for an
    /// element that is not a canonical, non-identity ristretto255 encoding.
    pub fn answer(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        request: &OprfRequest,
    ) -> Result<OprfResponse, Error> {
        if request.key_epoch() != self.key_epoch() {
            return Err(Error::LookupMismatch);
        }
        let blinded = request
            .blinded()
            .iter()
            .map(BlindedElement::from_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        let evaluation = self.evaluate(rng, &blinded)?;
        OprfResponse::new(
            self.key_epoch(),
            evaluation
                .elements
                .iter()
                .map(EvaluatedElement::to_bytes)
                .collect(),
            evaluation.proof,
        )
    }
}
