//! Protocol versions.

/// A protocol version this implementation speaks.
///
/// On the wire a version is a plain `u16`, so a peer may offer versions we
/// do not know without breaking the handshake's decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// The first version: handshake, control, peer exchange.
    V1,
    /// Adds files: transfer connections (`HelloV2` with a purpose), the
    /// files channel and the tracker channel.
    V2,
    /// Adds typed refusals on the files channel: `FileMsg::Unavailable`
    /// and `RejectReason::Unavailable`, sent when a provider's copy no
    /// longer matches its content id (SPEC.md §9).
    V3,
    /// Adds services: `Purpose::Service` (a `HelloV2` naming the service a
    /// connection is for) and the service channel, whose payloads are the
    /// service's own (SPEC.md §6).
    V4,
}

impl ProtocolVersion {
    /// Every version this implementation speaks, oldest first.
    pub const ALL: &'static [ProtocolVersion] = &[
        ProtocolVersion::V1,
        ProtocolVersion::V2,
        ProtocolVersion::V3,
        ProtocolVersion::V4,
    ];

    /// The newest version.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V4;

    /// The wire number.
    pub fn as_u16(self) -> u16 {
        match self {
            ProtocolVersion::V1 => 1,
            ProtocolVersion::V2 => 2,
            ProtocolVersion::V3 => 3,
            ProtocolVersion::V4 => 4,
        }
    }

    /// Maps a wire number to a version we speak.
    pub fn from_u16(n: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_u16() == n)
    }

    /// The newest version in both `ours` and the peer's `offered` list.
    pub fn negotiate(offered: &[u16]) -> Option<Self> {
        Self::ALL
            .iter()
            .rev()
            .copied()
            .find(|v| offered.contains(&v.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolVersion;

    #[test]
    fn version_list_is_complete() {
        // Adding a variant without listing it in ALL fails to compile here
        // (exhaustive match) or fails the assertions below.
        fn listed(v: ProtocolVersion) -> bool {
            match v {
                ProtocolVersion::V1
                | ProtocolVersion::V2
                | ProtocolVersion::V3
                | ProtocolVersion::V4 => ProtocolVersion::ALL.contains(&v),
            }
        }
        for n in 0..=u16::MAX {
            if let Some(v) = ProtocolVersion::from_u16(n) {
                assert!(listed(v));
                assert_eq!(v.as_u16(), n);
            }
        }
        assert!(
            ProtocolVersion::ALL.windows(2).all(|w| w[0] < w[1]),
            "ALL is oldest first"
        );
        assert_eq!(ProtocolVersion::ALL.last(), Some(&ProtocolVersion::LATEST));
    }
}
