//! The handshake: version choice and mutual authentication.
//!
//! ```text
//! dialer                                   listener
//!   Hello { magic, versions, nonce_d }  ──►        (or HelloV2 with a purpose)
//!                                       ◄──  Accept { version, nonce_l, record_l, sig_l }
//!   Auth { record_d, sig_d }            ──►
//! ```
//!
//! * `sig_l` signs `T_accept = SHA-256("warren/handshake/v1/accept" ‖
//!   len(hello) ‖ hello ‖ version ‖ nonce_l ‖ record_l)` where `hello` is the
//!   Hello payload exactly as sent and `len` is a u32 big endian.
//! * `sig_d` signs `T_auth = SHA-256("warren/handshake/v1/auth" ‖ T_accept ‖
//!   sig_l ‖ record_d)`.
//!
//! Each side's signature covers the other side's fresh nonce, so neither can
//! be replayed. The dialer checks that the record's key is the key it dialed;
//! the listener learns the dialer's key from its record. Both records must
//! pass the community's [`RecordPolicy`] (signature, work, time). A listener
//! that shares no version with the dialer answers `Reject` instead of `Accept`.
//!
//! Both state machines are pure: they take bytes and give bytes; the caller
//! does the I/O, supplies fresh random nonces and the current time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::Bytes64;
use crate::codec::{decode_exact, encode};
use crate::record::{RecordPolicy, SignedNodeRecord, Verified};
use crate::version::ProtocolVersion;
use crate::{Error, Keypair, NodeId, Result};

/// First bytes of every Hello.
pub const MAGIC: [u8; 4] = *b"WRN\x01";
/// Most versions a Hello may offer.
pub const MAX_OFFERED_VERSIONS: usize = 8;

/// Handshake messages (channel [`crate::frame::Channel::Handshake`]). Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeMsg {
    /// Dialer → listener, first.
    Hello(Hello),
    /// Listener → dialer: chosen version and the listener's proof.
    Accept(Accept),
    /// Dialer → listener: the dialer's proof.
    Auth(Auth),
    /// Listener → dialer: no deal.
    Reject(RejectReason),
    /// Dialer → listener, first: a Hello that also says what the
    /// connection is for (protocol version 2).
    HelloV2(HelloV2),
}

/// What a connection is for. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Purpose {
    /// The node-to-node connection: control, peer exchange, tracker.
    Peer,
    /// A file transfer: control and the files channel only. A node may
    /// open several to one peer (each on its own circuit).
    Transfer,
    /// A named service's connection: control and the service channel only
    /// (protocol version 4).
    Service(crate::service::ServiceName),
}

impl Purpose {
    /// The first protocol version in which a connection may have this
    /// purpose.
    pub fn since(&self) -> ProtocolVersion {
        match self {
            Purpose::Peer => ProtocolVersion::V1,
            Purpose::Transfer => ProtocolVersion::V2,
            Purpose::Service(_) => ProtocolVersion::V4,
        }
    }
}

/// The dialer's opening message, with a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloV2 {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// Versions the dialer speaks (wire numbers, any order).
    pub versions: heapless::Vec<u16, MAX_OFFERED_VERSIONS>,
    /// Fresh random nonce.
    pub nonce: [u8; 32],
    /// What the connection is for.
    pub purpose: Purpose,
}

/// The dialer's opening message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// Versions the dialer speaks (wire numbers, any order).
    pub versions: heapless::Vec<u16, MAX_OFFERED_VERSIONS>,
    /// Fresh random nonce.
    pub nonce: [u8; 32],
}

/// The listener's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    /// The chosen version (wire number).
    pub version: u16,
    /// Fresh random nonce.
    pub nonce: [u8; 32],
    /// The listener's signed record.
    pub record: SignedNodeRecord,
    /// Signature over `T_accept` by the record's key.
    pub signature: Bytes64,
}

/// The dialer's proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// The dialer's signed record.
    pub record: SignedNodeRecord,
    /// Signature over `T_auth` by the record's key.
    pub signature: Bytes64,
}

/// Why a listener refused a handshake. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// No version in common; these are the ones the listener speaks.
    UnsupportedVersion {
        /// The listener's versions.
        supported: heapless::Vec<u16, MAX_OFFERED_VERSIONS>,
    },
}

/// What a completed handshake established.
#[derive(Debug, Clone)]
pub struct Established {
    /// The peer's checked record (its id is the authenticated peer).
    pub peer: Verified,
    /// The version both sides speak from now on.
    pub version: ProtocolVersion,
    /// What the connection is for (a plain `Hello` means `Peer`).
    pub purpose: Purpose,
}

/// Decodes a handshake payload.
pub fn decode(payload: &[u8]) -> Result<HandshakeMsg> {
    decode_exact(payload)
}

fn accept_transcript(hello: &[u8], version: u16, nonce: &[u8; 32], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"warren/handshake/v1/accept");
    h.update((hello.len() as u32).to_be_bytes());
    h.update(hello);
    h.update(version.to_be_bytes());
    h.update(nonce);
    h.update(record);
    h.finalize().into()
}

fn auth_transcript(t_accept: &[u8; 32], sig_l: &Bytes64, record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"warren/handshake/v1/auth");
    h.update(t_accept);
    h.update(sig_l.0);
    h.update(record);
    h.finalize().into()
}

fn supported() -> heapless::Vec<u16, MAX_OFFERED_VERSIONS> {
    ProtocolVersion::ALL
        .iter()
        .map(|v| v.as_u16())
        .take(MAX_OFFERED_VERSIONS)
        .collect()
}

/// The dialer's side, waiting for `Accept`.
#[derive(Debug)]
pub struct Dialer {
    expected: NodeId,
    own: NodeId,
    hello: Vec<u8>,
    purpose: Purpose,
}

impl Dialer {
    /// Starts a peer connection with the node `expected`; returns the state
    /// and the Hello payload to send.
    pub fn start(own: NodeId, expected: NodeId, nonce: [u8; 32]) -> Result<(Self, Vec<u8>)> {
        Self::start_for(own, expected, nonce, Purpose::Peer)
    }

    /// Starts a connection for `purpose`. A peer connection opens with the
    /// version 1 `Hello` (so version 1 nodes understand it); anything else
    /// with `HelloV2`.
    pub fn start_for(
        own: NodeId,
        expected: NodeId,
        nonce: [u8; 32],
        purpose: Purpose,
    ) -> Result<(Self, Vec<u8>)> {
        if own == expected {
            return Err(Error::SelfConnection);
        }
        let (magic, versions) = (MAGIC, supported());
        let hello = match purpose {
            Purpose::Peer => encode(&HandshakeMsg::Hello(Hello {
                magic,
                versions,
                nonce,
            })),
            _ => encode(&HandshakeMsg::HelloV2(HelloV2 {
                magic,
                versions,
                nonce,
                purpose: purpose.clone(),
            })),
        };
        let state = Dialer {
            expected,
            own,
            hello: hello.clone(),
            purpose,
        };
        Ok((state, hello))
    }

    /// Handles the listener's answer; returns the Auth payload to send and
    /// what was established.
    pub fn on_answer(
        self,
        payload: &[u8],
        keypair: &Keypair,
        own_record: &SignedNodeRecord,
        now: u64,
        policy: &RecordPolicy,
    ) -> Result<(Vec<u8>, Established)> {
        let accept = match decode(payload)? {
            HandshakeMsg::Accept(a) => a,
            HandshakeMsg::Reject(reason) => return Err(Error::Rejected(reason)),
            _ => return Err(Error::Unexpected("expected Accept")),
        };
        let version = ProtocolVersion::from_u16(accept.version)
            .ok_or_else(|| Error::UnsupportedVersion(heapless::Vec::from_iter([accept.version])))?;
        let actual = accept.record.id();
        if actual != self.expected {
            return Err(Error::WrongPeer {
                expected: self.expected,
                actual,
            });
        }
        let record_l = encode(&accept.record);
        let t_accept = accept_transcript(&self.hello, accept.version, &accept.nonce, &record_l);
        actual.verify(&t_accept, &accept.signature)?;
        let peer = accept.record.verify(now, policy)?;

        if own_record.id() != self.own || keypair.id() != self.own {
            return Err(Error::Unexpected("own record is not ours"));
        }
        if version < self.purpose.since() {
            return Err(Error::UnsupportedVersion(heapless::Vec::from_iter([
                accept.version,
            ])));
        }
        let t_auth = auth_transcript(&t_accept, &accept.signature, &encode(own_record));
        let auth = Auth {
            record: own_record.clone(),
            signature: keypair.sign(&t_auth),
        };
        let est = Established {
            peer,
            version,
            purpose: self.purpose,
        };
        Ok((encode(&HandshakeMsg::Auth(auth)), est))
    }
}

/// The listener's side, waiting for `Auth`.
#[derive(Debug)]
pub struct Listener {
    own: NodeId,
    version: ProtocolVersion,
    purpose: Purpose,
    t_accept: [u8; 32],
    sig_l: Bytes64,
}

/// What the listener does after a Hello.
#[derive(Debug)]
pub enum ListenerStep {
    /// Send the payload, then wait for `Auth`.
    Continue(Listener, Vec<u8>),
    /// Send the payload (a `Reject`), then close.
    Reject(Vec<u8>, Error),
}

impl Listener {
    /// Handles a Hello; returns the next step.
    pub fn on_hello(
        payload: &[u8],
        keypair: &Keypair,
        own_record: &SignedNodeRecord,
        nonce: [u8; 32],
    ) -> Result<ListenerStep> {
        let (magic, versions, purpose) = match decode(payload)? {
            HandshakeMsg::Hello(h) => (h.magic, h.versions, Purpose::Peer),
            HandshakeMsg::HelloV2(h) => (h.magic, h.versions, h.purpose),
            _ => return Err(Error::Unexpected("expected Hello")),
        };
        if magic != MAGIC {
            return Err(Error::BadMagic);
        }
        // A transfer needs version 2, a service version 4.
        let negotiated = ProtocolVersion::negotiate(&versions).filter(|v| *v >= purpose.since());
        let Some(version) = negotiated else {
            let reject = HandshakeMsg::Reject(RejectReason::UnsupportedVersion {
                supported: supported(),
            });
            return Ok(ListenerStep::Reject(
                encode(&reject),
                Error::UnsupportedVersion(versions),
            ));
        };
        if own_record.id() != keypair.id() {
            return Err(Error::Unexpected("own record is not ours"));
        }
        let record_l = encode(own_record);
        let t_accept = accept_transcript(payload, version.as_u16(), &nonce, &record_l);
        let sig_l = keypair.sign(&t_accept);
        let accept = Accept {
            version: version.as_u16(),
            nonce,
            record: own_record.clone(),
            signature: sig_l,
        };
        let state = Listener {
            own: keypair.id(),
            version,
            purpose,
            t_accept,
            sig_l,
        };
        Ok(ListenerStep::Continue(
            state,
            encode(&HandshakeMsg::Accept(accept)),
        ))
    }

    /// Handles the dialer's Auth; returns what was established.
    pub fn on_auth(self, payload: &[u8], now: u64, policy: &RecordPolicy) -> Result<Established> {
        let auth = match decode(payload)? {
            HandshakeMsg::Auth(a) => a,
            _ => return Err(Error::Unexpected("expected Auth")),
        };
        let peer_id = auth.record.id();
        if peer_id == self.own {
            return Err(Error::SelfConnection);
        }
        let t_auth = auth_transcript(&self.t_accept, &self.sig_l, &encode(&auth.record));
        peer_id.verify(&t_auth, &auth.signature)?;
        let peer = auth.record.verify(now, policy)?;
        Ok(Established {
            peer,
            version: self.version,
            purpose: self.purpose,
        })
    }
}
