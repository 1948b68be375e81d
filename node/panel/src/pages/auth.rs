//! The pairing and login pages.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::{bare, csrf};
use crate::owner::MIN_PASSPHRASE;

/// First run (or pairing mode): the pairing code and a new passphrase.
/// `window`: while pairing mode is open, how long it stays open and where
/// this page opens on the local network.
pub(crate) fn pair(
    token: &str,
    problem: Option<&str>,
    window: Option<&(String, Vec<String>)>,
) -> Response {
    bare(
        StatusCode::OK,
        "Pair with your node",
        html! {
            @if let Some(p) = problem { div.note.bad role="alert" { (p) } }
            @if let Some((left, urls)) = window {
                div.note { "Pairing mode is open for " (left) "."
                    @if !urls.is_empty() {
                        " On your network this page opens at: "
                        @for (i, u) in urls.iter().enumerate() { @if i > 0 { ", " } code { (u) } }
                    }
                }
            }
            div.card {
                p { "Enter the one-time pairing code that " code { "warren run" } " printed (it is also in "
                    code { "pairing-code.txt" } " in the node's data folder, and on a box in pairing mode in "
                    code { "warren-pairing.txt" } " on its boot partition), and choose the passphrase you will log in with. "
                    "Pairing again replaces the old passphrase and ends every login." }
                form method="post" action="/pair" {
                    (csrf(token))
                    label for="code" { "Pairing code" }
                    input #code type="text" name="code" autocomplete="off" autocapitalize="characters" placeholder="XXXX-XXXX-XXXX-XXXX" required;
                    label for="passphrase" { "New passphrase (at least " (MIN_PASSPHRASE) " characters)" }
                    input #passphrase type="password" name="passphrase" autocomplete="new-password" minlength=(MIN_PASSPHRASE) required;
                    label for="confirm" { "The same passphrase again" }
                    input #confirm type="password" name="confirm" autocomplete="new-password" minlength=(MIN_PASSPHRASE) required;
                    p { button type="submit" { "Pair" } }
                }
            }
        },
    )
}

/// The login form.
/// `pairing`: a pairing code is usable (pairing mode), so a link to pair
/// again with it is offered.
pub(crate) fn login(token: &str, problem: Option<&str>, pairing: bool) -> Response {
    bare(
        StatusCode::OK,
        "Log in",
        html! {
            @if let Some(p) = problem { div.note.bad role="alert" { (p) } }
            div.card {
                form method="post" action="/login" {
                    (csrf(token))
                    label for="passphrase" { "Passphrase" }
                    input #passphrase type="password" name="passphrase" autocomplete="current-password" required autofocus;
                    p { button type="submit" { "Log in" } }
                }
            }
            @if pairing {
                p { "Pairing mode is on. Forgot the passphrase? "
                    a href="/pair" { "Pair again with the pairing code" } "." }
            }
        },
    )
}
