//! The `[mail]` section of `warren.toml`.

use serde::{Deserialize, Serialize};

use crate::BoxLimits;

/// Messages: how a member uses boxes, and (on a box) the bounds of the
/// mailboxes it holds. Defaults suit a Pi Zero 2 W.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// How many trusted boxes hold this member's mail (each one that is up
    /// keeps a copy).
    pub boxes: usize,
    /// Seconds between looks at the boxes for new mail.
    pub poll_secs: u64,
    /// Tell senders when their messages were shown here (off: they see
    /// only that a message was delivered).
    pub read_receipts: bool,
    /// Box: days undelivered mail is kept (Briar Mailbox keeps 30).
    pub retention_days: u64,
    /// Box: MiB one mailbox holds at most.
    pub quota_mib: u64,
    /// Box: messages one mailbox holds at most.
    pub quota_messages: u32,
    /// Box: messages one sender deposits per minute at most.
    pub per_sender_per_minute: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            boxes: 2,
            poll_secs: 60,
            read_receipts: false,
            retention_days: 30,
            quota_mib: 64,
            quota_messages: 10_000,
            per_sender_per_minute: 60,
        }
    }
}

impl MailConfig {
    /// The box's bounds.
    pub fn box_limits(&self) -> BoxLimits {
        BoxLimits {
            quota_bytes: self.quota_mib.saturating_mul(1 << 20),
            quota_count: self.quota_messages,
            retention_secs: self.retention_days.saturating_mul(86_400),
            per_sender_per_minute: self.per_sender_per_minute,
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A message naming the value out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.boxes == 0 || self.boxes > 8 {
            return Err("mail.boxes must be 1 to 8".into());
        }
        if self.poll_secs == 0 {
            return Err("mail.poll_secs must be at least 1".into());
        }
        if self.retention_days == 0 || self.quota_mib == 0 || self.quota_messages == 0 {
            return Err(
                "mail.retention_days, quota_mib and quota_messages must be at least 1".into(),
            );
        }
        if self.per_sender_per_minute == 0 {
            return Err("mail.per_sender_per_minute must be at least 1".into());
        }
        Ok(())
    }
}
