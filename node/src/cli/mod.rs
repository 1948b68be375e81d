//! The command line. Its shape is a contract that docs, tests and scripts
//! rely on: add to it, do not change what is there.

/// `println!` for a command's answer: a write that fails (a full disk, a
/// closed file) ends the command with an error and status 1, not a panic.
/// (A reader that went away ends it by SIGPIPE first, as `ls | head`.)
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::out(format_args!($($t)*))
    };
}

mod files;
mod mail;
mod mirror;
mod offline;
mod print;
mod progress;
mod relay;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use warren_node::Error;
use warren_node::control::{self, Request};

/// Exit status when no node is running in the data directory.
const EXIT_NOT_RUNNING: u8 = 3;

/// Warren: a private community node reachable only as an onion service.
#[derive(Debug, Parser)]
#[command(name = "warren", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Data directory: identity, store, config (warren.toml), control socket.
    /// Default: $WARREN_DATA_DIR, else $XDG_DATA_HOME/warren, else ~/.local/share/warren.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the data directory and the node's identity; print its address.
    Init {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the node in the foreground until Ctrl-C or SIGTERM.
    Run(run::RunArgs),
    /// Show the running node's state.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the nodes this node knows.
    Peers {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Manage trusted nodes.
    Trust {
        #[command(subcommand)]
        action: TrustAction,
    },
    /// Relaunch the node's onion service (a fresh descriptor and introduction points).
    Relaunch,
    /// Share a file or folder; prints its link (private unless --public).
    Share(files::ShareArgs),
    /// List what this node shares.
    Shares {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a private share public (by token, link or content id).
    Publish {
        /// The share.
        id: String,
    },
    /// Stop sharing (by token, link or content id).
    Unshare {
        /// The share.
        id: String,
    },
    /// Download what a link points at; run again to resume.
    Get(files::GetArgs),
    /// List downloads.
    Downloads {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write to a member: kept at once, handed over when it is online,
    /// else stored by the boxes that hold its mail.
    Send {
        /// The member's peer address (or the onion address of a known node).
        to: String,
        /// The text; read from stdin when absent or `-`.
        text: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a conversation's messages (every conversation's without ADDR).
    Messages {
        /// The member.
        with: Option<String>,
        /// Print JSON lines instead of text.
        #[arg(long)]
        json: bool,
        /// Keep printing new messages and delivery changes until Ctrl-C.
        #[arg(long)]
        follow: bool,
        /// Show at most this many of each thread's last messages (at most
        /// 2,000).
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// List conversations, the latest first, with unread counts.
    Conversations {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// On a box: the mailboxes it holds for its members.
    Mailboxes {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a share's or a download's files against its pieces (by token,
    /// link or content id); a download that lacks pieces fetches them again.
    Recheck {
        /// The share or download.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Pause a download (by its link); `warren get` resumes it.
    Pause {
        /// The link.
        link: String,
    },
    /// Browse the community's catalogue of public shares.
    Catalogue {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Keep a copy of a link's content for others, within the seeding quota
    /// (a sealed share is kept encrypted: the link's key is not used).
    Mirror {
        /// The link.
        link: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the mirrors this node keeps and the seeding quota.
    Mirrors {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop keeping a mirror and delete its copy (by swarm, content id or link).
    Unmirror {
        /// The mirror.
        id: String,
    },
    /// Ask the connected trusted boxes to mirror a share (by token, link or content id).
    AskMirror {
        /// The share.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The node's store (`warren.redb`): check it, or rebuild it from the
    /// known-good copy the node keeps (`warren.keep`).
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// The box's Tor relay (C tor only): turn it on or off, see what it
    /// carries.
    Relay {
        #[command(subcommand)]
        action: relay::RelayAction,
    },
    /// Drive the simulated board (development and tests): press its button,
    /// set its sensors. A real board's button is pressed by hand.
    Board {
        #[command(subcommand)]
        action: BoardAction,
    },
    /// Ask the running node to stop.
    Stop,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreAction {
    /// Run the store library's integrity check on a copy of the store
    /// (the file is not changed) and check the identity's keys; exit 1 if
    /// it is damaged. The node must be stopped.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the store from `warren.keep` (identity, trust, the panel's
    /// owner, share keys, settings): the old store is moved aside as
    /// `warren.redb.damaged-TIME`, never deleted. The node must be stopped.
    Restore {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BoardAction {
    /// Press the button: `short` (pairing mode) or `long` (held past the
    /// long-press time: asks for a factory reset; a second long press
    /// within the confirmation window confirms it). Returns once released.
    Press {
        /// `short` or `long`.
        #[arg(value_enum)]
        press: PressArg,
    },
    /// Set the simulated sensors.
    Sensors {
        /// SoC temperature, °C.
        #[arg(long, value_name = "CELSIUS", allow_negative_numbers = true)]
        temperature: Option<f32>,
        /// Whether the supply voltage is too low.
        #[arg(long, value_name = "BOOL")]
        under_voltage: Option<bool>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum PressArg {
    /// Pressed and released.
    Short,
    /// Held past the long-press time.
    Long,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrustAction {
    /// Trust a node by its peer address (as `warren status` prints it).
    Add {
        /// The node's peer address.
        address: String,
    },
    /// Stop trusting a node (onion address or peer address).
    Remove {
        /// The node's onion address.
        id: String,
    },
    /// List trusted nodes.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Writes one line of a command's answer (see `outln!`).
pub(crate) fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // Names printed as they are written to disk: no bidi controls.
    let text = warren_proto::content::unspoofed(&args.to_string());
    let mut o = std::io::stdout().lock();
    if let Err(e) = o
        .write_all(text.as_bytes())
        .and_then(|()| o.write_all(b"\n"))
    {
        eprintln!("error: cannot write the answer: {e}");
        std::process::exit(1);
    }
}

/// The default data directory.
fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WARREN_DATA_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("warren");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/warren"),
        None => PathBuf::from("warren-data"),
    }
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        // A command whose reader went away (`warren shares | head -1`)
        // ends quietly, killed by SIGPIPE as `ls | head` is (status 141 in
        // the shell), instead of panicking on a failed print. The daemon
        // keeps ignoring SIGPIPE: a peer that hangs up is an error there.
        sigpipe::reset();
    }
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, data_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::NotRunning(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_NOT_RUNNING)
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, dir: PathBuf) -> warren_node::Result<()> {
    match command {
        Command::Init { json } => offline::init(&dir, json).await,
        Command::Run(args) => run::run(&dir, args).await,
        Command::Status { json } => {
            let v = control::request(&dir, &Request::Status).await?;
            print::status(&v, json)
        }
        Command::Peers { json } => {
            let v = control::request(&dir, &Request::Peers).await?;
            print::peers(&v, json)
        }
        Command::Trust { action } => offline::trust(&dir, action).await,
        Command::Share(a) => files::share(&dir, a).await,
        Command::Shares { json } => files::shares(&dir, json).await,
        Command::Publish { id } => files::publish(&dir, id).await,
        Command::Unshare { id } => files::unshare(&dir, id).await,
        Command::Get(a) => files::get(&dir, a).await,
        Command::Downloads { json } => files::downloads(&dir, json).await,
        Command::Recheck { id, json } => files::recheck(&dir, id, json).await,
        Command::Store { action } => match action {
            StoreAction::Check { json } => offline::store_check(&dir, json).await,
            StoreAction::Restore { json } => offline::store_restore(&dir, json).await,
        },
        Command::Pause { link } => files::pause(&dir, link).await,
        Command::Send { to, text, json } => mail::send(&dir, to, text, json).await,
        Command::Messages {
            with,
            json,
            follow,
            limit,
        } => mail::messages(&dir, with, json, follow, limit).await,
        Command::Conversations { json } => mail::conversations(&dir, json).await,
        Command::Mailboxes { json } => mail::mailboxes(&dir, json).await,
        Command::Catalogue { json } => files::catalogue(&dir, json).await,
        Command::Mirror { link, json } => mirror::mirror(&dir, link, json).await,
        Command::Mirrors { json } => mirror::mirrors(&dir, json).await,
        Command::Unmirror { id } => mirror::unmirror(&dir, id).await,
        Command::AskMirror { id, json } => {
            let v = mirror::ask(&dir, id, json).await?;
            if json {
                files::print_json(&v)?;
            }
            Ok(())
        }
        Command::Relaunch => {
            control::request(&dir, &Request::Relaunch).await?;
            outln!("onion service relaunching; `warren status` shows when it is reachable again");
            Ok(())
        }
        Command::Relay { action } => relay::relay(&dir, action).await,
        Command::Board { action } => board(&dir, action).await,
        Command::Stop => {
            control::request(&dir, &Request::Shutdown).await?;
            outln!("node stopping");
            Ok(())
        }
    }
}

async fn board(dir: &std::path::Path, action: BoardAction) -> warren_node::Result<()> {
    use warren_node::board::Press;
    match action {
        BoardAction::Press { press } => {
            let press = match press {
                PressArg::Short => Press::Short,
                PressArg::Long => Press::Long,
            };
            let v = control::request(dir, &Request::BoardPress { press }).await?;
            let b: warren_node::board::BoardStatus = serde_json::from_value(v)
                .map_err(|e| Error::Remote(format!("unexpected answer: {e}")))?;
            outln!("pressed; LED {} ({})", b.led, b.led_because);
        }
        BoardAction::Sensors {
            temperature,
            under_voltage,
        } => {
            control::request(
                dir,
                &Request::BoardSensors {
                    temperature_c: temperature,
                    under_voltage,
                },
            )
            .await?;
            outln!("sensors set");
        }
    }
    Ok(())
}
