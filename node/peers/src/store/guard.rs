//! The boundary with the store library. A damaged file can make redb
//! panic instead of returning an error (an index out of bounds in its
//! allocator or B-tree code when a page's bytes are garbage); every call
//! into it goes through [`guarded`], which catches the panic and returns
//! [`Error::StoreDamaged`] with the panic's message, not printed as a
//! crash. Nothing is written on that path: the file stays as it is.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use crate::{Error, Result};

thread_local! {
    /// Inside a guarded call on this thread.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The message of a panic caught inside one.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that keeps a guarded call's panic message
/// instead of printing it; every other panic goes to the previous hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                CAUGHT.with(|c| *c.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` (a call into redb on the store at `path`); a panic inside it
/// becomes [`Error::StoreDamaged`].
pub(crate) fn guarded<T>(path: Option<&Path>, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_hook();
    let outer = GUARDED.with(|g| g.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    match r {
        Ok(r) => r,
        Err(_) => {
            let msg = CAUGHT
                .with(|c| c.borrow_mut().take())
                .unwrap_or_else(|| "a panic".into());
            Err(Error::StoreDamaged {
                path: path.map_or_else(|| "(in memory)".into(), Path::to_path_buf),
                detail: format!("the store library failed reading it ({msg})"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_a_damaged_store_error() {
        let r: Result<()> = guarded(Some(Path::new("/x/warren.redb")), || {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            let _ = v[i];
            Ok(())
        });
        match r {
            Err(Error::StoreDamaged { path, detail }) => {
                assert_eq!(path, Path::new("/x/warren.redb"));
                assert!(detail.contains("index out of bounds"), "{detail}");
                assert!(detail.contains("guard.rs"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        // Errors and values pass through untouched.
        assert_eq!(guarded(None, || Ok(7)).unwrap(), 7);
        assert!(matches!(
            guarded::<()>(None, || Err(Error::ShuttingDown)),
            Err(Error::ShuttingDown)
        ));
    }
}
