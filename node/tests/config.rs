//! Configuration: the example file, old files, profiles, validation.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use warren_node::config::{Config, Limits, Profile, RoleName};

fn keys(prefix: &str, v: &toml::Value, out: &mut BTreeSet<String>) {
    if let toml::Value::Table(t) = v {
        for (k, v) in t {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_table() {
                keys(&path, v, out);
            } else {
                out.insert(path);
            }
        }
    }
}

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("warren.example.toml"))
        .unwrap()
}

#[test]
fn the_example_lists_every_option_with_its_default() {
    let text = example();
    let mut in_example = BTreeSet::new();
    keys(
        "",
        &toml::Value::Table(text.parse::<toml::Table>().unwrap()),
        &mut in_example,
    );
    let mut in_code = BTreeSet::new();
    keys(
        "",
        &toml::Value::try_from(Config::default()).unwrap(),
        &mut in_code,
    );
    let missing: Vec<_> = in_code.difference(&in_example).collect();
    let unknown: Vec<_> = in_example.difference(&in_code).collect();
    assert!(
        missing.is_empty(),
        "options missing from warren.example.toml: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "warren.example.toml lists unknown options: {unknown:?}"
    );
    // And the values given there are the defaults.
    assert_eq!(
        Config::from_toml(&text, Path::new("example")).unwrap(),
        Config::default()
    );
}

#[test]
fn every_option_in_the_example_has_a_comment() {
    let text = example();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.contains(" = ") && !l.starts_with('#') {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "undocumented option: {l}"
            );
        }
    }
}

#[test]
fn the_oldest_supported_config_still_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/v0.1.toml");
    let c = Config::load(&path).unwrap();
    assert_eq!(c.node.role, RoleName::Box);
    assert_eq!(c.community.pow_difficulty, 22);
    assert_eq!(c.discovery.target_outbound, 4);
    // The profile fills in what the file leaves out; the file wins where it speaks.
    let small = Limits::for_profile(Profile::Small);
    assert_eq!(c.limits.max_known_peers, 300);
    assert_eq!(c.limits.max_inbound, small.max_inbound);
    assert_eq!(c.limits.node_inbox, small.node_inbox);
    assert_eq!(c.bootstrap_addrs().unwrap().len(), 1);
}

#[test]
fn the_raspberry_pi_images_config_loads_for_both_profiles() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../image-build/rootfs/etc/warren/warren.toml");
    let template = std::fs::read_to_string(&path).unwrap();
    assert!(
        template.contains("@PROFILE@"),
        "first boot fills in the profile"
    );
    for (name, profile) in [("small", Profile::Small), ("desktop", Profile::Desktop)] {
        let c = Config::from_toml(&template.replace("@PROFILE@", name), &path).unwrap();
        c.validate().unwrap();
        assert_eq!(c.node.role, RoleName::Box);
        assert_eq!(c.node.transport, warren_node::config::TransportKind::Ctor);
        assert_eq!(c.limits.profile, profile);
        assert!(c.board.pairing_until_paired);
        assert_eq!(c.board.boot_partition, "/boot/firmware");
    }
}

#[test]
fn an_empty_file_and_no_file_give_the_defaults() {
    assert_eq!(
        Config::from_toml("", Path::new("x")).unwrap(),
        Config::default()
    );
    assert_eq!(
        Config::load(Path::new("/nonexistent/warren.toml")).unwrap(),
        Config::default()
    );
}

#[test]
fn mistakes_are_refused_with_the_key_named() {
    let cases = [
        ("[node]\nlisten_addr = \"1.2.3.4:5\"\n", "listen_addr"),
        ("[node]\nrole = \"server\"\n", "role"),
        ("[limits]\nprofile = \"huge\"\n", "profile"),
        ("[limits]\nmax_inbound = 0\n", "max_inbound"),
        ("[community]\npow_difficulty = 65\n", "pow_difficulty"),
        (
            "[discovery]\nidle_timeout_secs = 10\nping_interval_secs = 30\n",
            "idle_timeout_secs",
        ),
        ("[node]\nbootstrap = [\"x.onion\"]\n", "bootstrap"),
        (
            "[community]\nrecord_validity_secs = 10\n",
            "record_validity_secs",
        ),
        (
            "[store]\ncommit_interval_secs = 0\n",
            "commit_interval_secs",
        ),
        ("limits = 3\n", "limits"),
    ];
    for (text, key) in cases {
        let err = Config::from_toml(text, Path::new("warren.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{text:?} gave {err:?}");
        assert!(err.contains("warren.toml"), "{err}");
    }
}

#[test]
fn editing_the_file_keeps_its_comments_keys_and_mode_and_refuses_a_bad_result() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("warren.toml");
    std::fs::write(&path, "# the owner's note\n[files]\nmax_downloads = 7\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = warren_node::config::edit_file(
        &path,
        |doc| doc["relay"]["enabled"] = toml_edit::value(true),
        |_| Ok(()),
    )
    .unwrap();
    assert!(cfg.relay.enabled);
    assert_eq!(cfg.files.max_downloads, 7);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# the owner's note") && text.contains("enabled = true"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A change that would not load is refused, and the file stays.
    let bad = warren_node::config::edit_file(
        &path,
        |doc| doc["relay"]["rate_kib"] = toml_edit::value(1),
        |_| Ok(()),
    );
    assert!(bad.unwrap_err().contains("rate_kib"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}
