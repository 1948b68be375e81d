//! Why the files service refuses a request it understood: each refusal a
//! type, worded for the person who asked (the CLI and the panel print it
//! as it is).

use std::path::PathBuf;
use std::sync::Arc;

/// A request the files service will not carry out as asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    // --- sharing -----------------------------------------------------------
    /// A name inside the share is not a safe relative path.
    #[error("cannot share {path:?}: {source}")]
    UnsafeName {
        /// The name, relative to the share.
        path: String,
        /// What the protocol's path rule says.
        #[source]
        source: warren_proto::Error,
    },
    /// Files that cannot be shared were found (named, up to a point).
    #[error("{}{}; nothing was shared (`warren share --skip-unsafe` leaves such files out)", .named.join("; "), if *.more { " (and perhaps more)" } else { "" })]
    UnsafeFiles {
        /// What cannot be shared, and why, each in words.
        named: Vec<String>,
        /// Whether the walk stopped naming them.
        more: bool,
    },
    /// The path has no last component to name the share by.
    #[error("{} has no usable name", .0.display())]
    NoName(PathBuf),
    /// Neither a regular file nor a folder.
    #[error("{} is not a file or folder", .0.display())]
    NotFileOrFolder(PathBuf),
    /// A folder with no file in it.
    #[error("{} holds no files", .0.display())]
    NoFiles(PathBuf),
    /// More files than one share holds.
    #[error("more than {max} files: a share holds at most {max}; share its subfolders separately")]
    TooManyFiles {
        /// `warren_proto::content::MAX_FILES`.
        max: usize,
    },
    /// More bytes than one share's piece table holds.
    #[error("{total} bytes is more than one share can hold")]
    TooLarge {
        /// Bytes in all.
        total: u64,
    },
    /// A file changed while it was hashed.
    #[error("{} changed while being shared; try again", .0.display())]
    Changed(PathBuf),
    /// A file got shorter while it was hashed.
    #[error("{} shrank while being shared", .0.display())]
    Shrank(PathBuf),
    /// The description is over its bound.
    #[error("description longer than 1024 bytes")]
    DescriptionTooLong,
    /// A tag is over its bound.
    #[error("tag {0:?} longer than 32 bytes")]
    TagTooLong(String),
    /// Too many tags.
    #[error("more than 16 tags")]
    TooManyTags,
    /// The sealed listing is over the manifest's bound.
    #[error("listing too large to seal")]
    ListingTooLarge,
    /// Already as many shares as `files.max_shares`.
    #[error("already {0} shares (files.max_shares)")]
    TooManyShares(usize),
    /// A share with its own address would name its publisher if public.
    #[error("a share with its own address cannot be public: the catalogue names its publisher")]
    OwnAddressPublic,
    /// A sealed share would be readable by anyone if public.
    #[error("a sealed share cannot be public: its point is that only link holders can read it")]
    SealedPublic,
    /// The transport cannot give a share an address of its own.
    #[error("the share's own address: this transport cannot give a share an address")]
    NoShareAddress,
    /// The share's own address was opened but gave nothing to advertise.
    #[error("the share's own address: no address to advertise")]
    NoAddressToAdvertise,
    /// The share's own address could not be opened.
    #[error("the share's own address: {0}")]
    ShareAddress(#[source] Arc<crate::transport::TransportError>),
    /// The share's own address could not be given a record.
    #[error("the share's own address: {0}")]
    ShareRecord(#[source] Arc<warren_peers::Error>),

    // --- downloading and writing -------------------------------------------
    /// The link names one of this node's own shares.
    #[error("that is one of this node's own shares")]
    OwnShare,
    /// This node keeps that content as a mirror for others.
    #[error("this node keeps a mirror of that for others; `warren unmirror` it first")]
    MirroredForOthers,
    /// This node downloads that content already.
    #[error("this node downloads that already (and seeds it)")]
    AlreadyDownloading,
    /// Not an absolute path.
    #[error("{} is not an absolute path", .0.display())]
    NotAbsolute(PathBuf),
    /// Not a folder.
    #[error("{} is not a folder", .0.display())]
    NotAFolder(PathBuf),
    /// Already as many downloads running as `files.max_downloads`.
    #[error("{0} downloads are running (files.max_downloads)")]
    TooManyDownloads(usize),
    /// A finished file's name is taken.
    #[error("{} already exists; not replacing it (move it away and run `warren get` again)", .0.display())]
    WontReplace(PathBuf),
    /// A download's file or folder name is taken.
    #[error("{} already exists; remove it or download elsewhere (--out)", .0.display())]
    NameTaken(PathBuf),
    /// A symlink where a download's folder goes.
    #[error("{} is a symlink; refusing to write through it", .0.display())]
    Symlink(PathBuf),
    /// A file where a download's folder goes.
    #[error("{} is in the way (not a folder)", .0.display())]
    InTheWay(PathBuf),
    /// The mirror's folder exists.
    #[error("{} already exists (this content is already mirrored)", .0.display())]
    AlreadyMirrored(PathBuf),
    /// A sealed share's link without its key.
    #[error("this share is sealed and the link carries no key")]
    NoKey,

    // --- checking ------------------------------------------------------------
    /// A download is checked piece by piece as it arrives.
    #[error("it is downloading (every piece is checked as it arrives); pause it first")]
    Downloading,
    /// Nothing to check yet.
    #[error("nothing of it has been downloaded yet")]
    NothingYet,

    // --- mirrors -------------------------------------------------------------
    /// No folder to keep mirrors in.
    #[error("this node keeps no mirrors (it has no data folder)")]
    NoMirrorFolder,
    /// The seeding quota is zero.
    #[error("files.seeding_quota_bytes is 0: this node keeps no mirrors")]
    NoSeedingQuota,

    // --- serving -------------------------------------------------------------
    /// A piece index past the content's last.
    #[error("no piece {0}")]
    NoPiece(u32),
    /// A read past the content's end.
    #[error("read past the end of the content")]
    PastTheEnd,
    /// A file the output cache was asked for is not open.
    #[error("output file cache")]
    NotOpen,
}
