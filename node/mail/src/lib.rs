//! Warren's messages: end-to-end encrypted conversations between members,
//! held for a member who is offline by the community's boxes.
//!
//! - [`e2e`]: the Olm double ratchet of `vodozemac`, bound to the node keys
//!   by signed prekeys; plaintexts padded to size classes.
//! - [`seal`]: envelopes sealed to their recipient (libsodium sealed
//!   boxes), so a box learns neither what they say nor who sent them.
//! - The mail actor ([`MailHandle`]) owns the mail database: a member's
//!   threads, outbox and ratchets; on a box, the mailboxes it holds.
//! - [`MailService`] answers `warren/mail/1` connections; the courier task
//!   registers with boxes, fetches, hands messages over directly when the
//!   recipient is online and deposits them with its boxes when not.

#![forbid(unsafe_code)]

mod actor;
mod boxes;
mod config;
mod courier;
mod db;
pub mod e2e;
mod member;
pub mod seal;
mod service;
mod views;

#[cfg(test)]
mod tests;

pub use actor::{MailHandle, start};
pub use boxes::{BoxLimits, MailboxInfo};
pub use config::MailConfig;
pub use courier::spawn as spawn_courier;
pub use db::DbError;
pub use member::Delivery;
pub use service::MailService;
pub use views::{ConversationView, MailStatus, MessageView};

/// Why a mail request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The mail database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Sealing or opening failed.
    #[error(transparent)]
    E2e(#[from] e2e::E2eError),
    /// An envelope could not be sealed.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// A protocol rule (an envelope's size, a message's bounds).
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// A message to this node itself.
    #[error("a message to yourself: write to another member")]
    ToSelf,
    /// A text over the bound.
    #[error("a text of {len} bytes is over the {max}-byte bound")]
    TooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The mail service is stopping.
    #[error("the mail service is stopping")]
    Stopped,
    /// A peer refused a request.
    #[error("refused: {0}")]
    Refused(warren_proto::mail::Refusal),
    /// A peer answered out of turn.
    #[error("the peer answered out of turn")]
    OutOfTurn,
    /// The connection failed.
    #[error("connection: {0}")]
    Conn(String),
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for MailError {
            fn from(e: $t) -> MailError {
                MailError::Db(e.into())
            }
        }
    )*};
}
db_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
