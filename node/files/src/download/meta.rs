//! Opening a transfer connection to a provider and learning what it
//! serves: checking the ticket (private swarms) or the id (public ones),
//! then fetching the manifest and the piece table and checking both.

use std::time::Duration;

use warren_proto::content::{ContentId, Manifest, SwarmId, Ticket, id_of_encoding};
use warren_proto::files::{FileMsg, MAX_HASHES};
use warren_proto::{NodeId, PeerAddr};

use super::want::Signer;
use crate::FilesError;
use crate::conn::{ConnCtx, dial_transfer};
use crate::transfer::{self, Receiver, Sender};

/// How long a provider may take to answer one metadata request.
const ANSWER: Duration = Duration::from_secs(60);

/// What a download expects of a provider.
#[derive(Debug, Clone)]
pub(crate) struct Expect {
    /// The swarm asked for.
    pub(crate) swarm: SwarmId,
    /// How the provider's ticket is checked.
    pub(crate) signer: Signer,
    /// The content, once known.
    pub(crate) content: Option<ContentId>,
}

/// An open transfer connection whose provider serves the swarm.
pub(crate) struct Opened {
    /// The provider.
    pub(crate) provider: NodeId,
    pub(crate) tx: Sender,
    pub(crate) rx: Receiver,
    pub(crate) content: ContentId,
    pub(crate) manifest_len: u32,
    pub(crate) ticket: Option<Ticket>,
    /// Messages that came while waiting for something else (bitfield).
    pub(crate) early: Vec<FileMsg>,
}

async fn next(rx: &mut Receiver) -> Result<FileMsg, FilesError> {
    tokio::time::timeout(ANSWER, rx.recv())
        .await
        .map_err(|_| FilesError::Transfer(format!("no answer within {} s", ANSWER.as_secs())))?
}

/// Dials `addr` on a circuit of its own and opens the swarm.
pub(crate) async fn open(
    addr: &PeerAddr,
    expect: &Expect,
    ctx: &ConnCtx,
) -> Result<Opened, FilesError> {
    let (framed, est) = dial_transfer(addr, ctx)
        .await
        .map_err(|e| FilesError::Dial(std::sync::Arc::new(e)))?;
    let (tx, mut rx) = transfer::split(framed, est.version);
    tx.send(FileMsg::Open {
        swarm: expect.swarm,
    })
    .await?;
    let (content, manifest_len, ticket) = match next(&mut rx).await? {
        FileMsg::Opened {
            content,
            manifest_len,
            ticket,
        } => (content, manifest_len, ticket),
        FileMsg::Unknown => {
            return Err(FilesError::NotFound(format!(
                "{} does not have it",
                addr.id
            )));
        }
        FileMsg::Unavailable { why } => return Err(FilesError::Unavailable(why)),
        _ => return Err(warren_proto::Error::Unexpected("expected Opened").into()),
    };
    check_ticket(expect, content, ticket.as_ref())?;
    if expect.content.is_some_and(|c| c != content) {
        return Err(warren_proto::Error::Unexpected(
            "another content than the one being downloaded",
        )
        .into());
    }
    Ok(Opened {
        provider: addr.id,
        tx,
        rx,
        content,
        manifest_len,
        ticket,
        early: Vec::new(),
    })
}

/// Whether `content` (with `ticket`) is what the swarm asked for stands for.
fn check_ticket(
    expect: &Expect,
    content: ContentId,
    ticket: Option<&Ticket>,
) -> Result<(), FilesError> {
    let unexpected = |what| Err(warren_proto::Error::Unexpected(what).into());
    match (&expect.signer, ticket) {
        (Signer::Public, _) | (Signer::Any, None) if content.0 != expect.swarm.0 => {
            unexpected("public content under another id")
        }
        (Signer::Key(signer), Some(t)) if t.verify(signer, &expect.swarm)? != content => {
            unexpected("ticket for other content")
        }
        (Signer::Any, Some(t)) if t.verify(&t.signer, &expect.swarm)? != content => {
            unexpected("ticket for other content")
        }
        (Signer::Key(_), None) => unexpected("a private swarm without a ticket"),
        _ => Ok(()),
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opened({:?})", self.content)
    }
}

impl Opened {
    /// Fetches and checks the manifest and the piece table.
    pub(crate) async fn fetch_meta(
        &mut self,
    ) -> Result<(Vec<u8>, Manifest, Vec<[u8; 32]>), FilesError> {
        if self.manifest_len as usize > warren_proto::content::MAX_MANIFEST {
            return Err(warren_proto::Error::TooLong {
                what: "manifest",
                max: warren_proto::content::MAX_MANIFEST,
            }
            .into());
        }
        let mut bytes = Vec::with_capacity(self.manifest_len as usize);
        while bytes.len() < self.manifest_len as usize {
            self.tx
                .send(FileMsg::GetManifest {
                    offset: bytes.len() as u32,
                })
                .await?;
            loop {
                match next(&mut self.rx).await? {
                    FileMsg::ManifestChunk { offset, data }
                        if offset as usize == bytes.len() && !data.is_empty() =>
                    {
                        bytes.extend_from_slice(data.as_slice());
                        break;
                    }
                    m @ (FileMsg::Bitfield { .. } | FileMsg::Have { .. }) => self.early.push(m),
                    _ => {
                        return Err(
                            warren_proto::Error::Unexpected("expected a manifest chunk").into()
                        );
                    }
                }
            }
        }
        bytes.truncate(self.manifest_len as usize);
        if id_of_encoding(&bytes) != self.content {
            return Err(warren_proto::Error::HashMismatch("manifest").into());
        }
        let manifest = Manifest::decode(&bytes)?;
        let count = manifest.piece_count() as usize;
        let mut hashes: Vec<[u8; 32]> = Vec::with_capacity(count);
        while hashes.len() < count {
            let want = (count - hashes.len()).min(MAX_HASHES) as u16;
            self.tx
                .send(FileMsg::GetHashes {
                    first: hashes.len() as u32,
                    count: want,
                })
                .await?;
            loop {
                match next(&mut self.rx).await? {
                    FileMsg::Hashes { first, hashes: got }
                        if first as usize == hashes.len() && !got.is_empty() =>
                    {
                        hashes.extend(got.as_slice().iter().take(count - hashes.len()));
                        break;
                    }
                    m @ (FileMsg::Bitfield { .. } | FileMsg::Have { .. }) => self.early.push(m),
                    _ => {
                        return Err(warren_proto::Error::Unexpected("expected piece hashes").into());
                    }
                }
            }
        }
        manifest.check_piece_table(&hashes)?;
        Ok((bytes, manifest, hashes))
    }
}
