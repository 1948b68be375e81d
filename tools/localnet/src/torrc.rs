//! torrc text for authorities, relays and clients.

use std::path::Path;

use crate::file::AuthorityEntry;

/// `DirAuthority` lines for every authority.
pub(crate) fn dir_authority_lines(auths: &[AuthorityEntry]) -> Vec<String> {
    auths
        .iter()
        .map(|a| {
            format!(
                "DirAuthority {} orport={} no-v2 v3ident={} {}:{} {}",
                a.nickname, a.or_port, a.v3ident, a.address, a.dir_port, a.rsa_identity
            )
        })
        .collect()
}

/// Settings every process of the network shares. `exits`: the RSA
/// fingerprints of the exit relays, the only ones voted the Exit flag
/// (their policies allow only loopback, which tor's own Exit rule would
/// not count), so a relay that joins later as a non-exit shows as one.
pub(crate) fn network_lines(auths: &[AuthorityEntry], exits: &[String]) -> Vec<String> {
    let exit_set: Vec<String> = exits.iter().map(|fp| format!("${fp}")).collect();
    let mut lines: Vec<String> = vec![format!("TestingDirAuthVoteExit {}", exit_set.join(","))];
    lines.extend(
        [
            "TestingTorNetwork 1",
            "TestingDirAuthVoteGuard *",
            "TestingDirAuthVoteHSDir *",
            "TestingMinExitFlagThreshold 0",
            "PathsNeededToBuildCircuits 0.67",
            "V3AuthNIntervalsValid 2",
        ]
        .map(String::from),
    );
    lines.extend(dir_authority_lines(auths));
    lines
}

/// A relay or authority.
pub(crate) struct Server<'a> {
    pub(crate) nickname: &'a str,
    pub(crate) datadir: &'a Path,
    pub(crate) or_port: u16,
    pub(crate) dir_port: u16,
    pub(crate) exit: bool,
    pub(crate) authority: bool,
    /// Extra `ConsensusParams` (authorities only).
    pub(crate) consensus_params: &'a str,
}

pub(crate) fn server(s: &Server<'_>, auths: &[AuthorityEntry], exits: &[String]) -> String {
    let d = s.datadir.display();
    let mut lines = vec![
        format!("DataDirectory {d}"),
        format!("PidFile {d}/pid"),
        format!("Log notice file {d}/notice.log"),
        format!("Nickname {}", s.nickname),
        "ContactInfo warren-localnet".into(),
        "Address 127.0.0.1".into(),
        format!("ORPort 127.0.0.1:{}", s.or_port),
        format!("DirPort 127.0.0.1:{}", s.dir_port),
        "SocksPort 0".into(),
        "RunAsDaemon 0".into(),
        "SafeLogging 0".into(),
        "ShutdownWaitLength 0".into(),
        "AssumeReachable 1".into(),
        "ServerDNSDetectHijacking 0".into(),
        "ServerDNSTestAddresses".into(),
        "ServerDNSResolvConfFile /dev/null".into(),
        "DisableDebuggerAttachment 0".into(),
    ];
    if s.exit {
        lines.extend(
            [
                "ExitRelay 1",
                "ExitPolicyRejectPrivate 0",
                "ExitPolicy accept 127.0.0.0/8:*",
                "ExitPolicy reject *:*",
            ]
            .map(String::from),
        );
    } else {
        lines.push("ExitRelay 0".into());
    }
    if s.authority {
        lines.extend(
            [
                "AuthoritativeDirectory 1",
                "V3AuthoritativeDirectory 1",
                "AuthDirSharedRandomness 0",
                "V3AuthVotingInterval 20",
                "V3AuthVoteDelay 4",
                "V3AuthDistDelay 4",
                "TestingV3AuthInitialVotingInterval 20",
                "TestingV3AuthInitialVoteDelay 4",
                "TestingV3AuthInitialDistDelay 4",
            ]
            .map(String::from),
        );
        lines.push(
            format!("ConsensusParams cbtdisabled=1 {}", s.consensus_params)
                .trim_end()
                .to_string(),
        );
    }
    lines.extend(network_lines(auths, exits));
    lines.join("\n") + "\n"
}
