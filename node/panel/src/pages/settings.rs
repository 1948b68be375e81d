//! Settings: memory profile, seeding quota and upload cap. Checked like
//! the configuration file, written into it (comments and other keys kept),
//! and applied at once where the running node can take them.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{Page, bytes, csrf, flash};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::config::{Config, Profile};

const GIB: f64 = (1u64 << 30) as f64;

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let cfg = app.config.lock().expect(crate::HELD).clone();
    let quota_gib = cfg.files.seeding_quota_bytes as f64 / GIB;
    let upload_kib = cfg.files.upload_rate_limit / 1024;
    let file = app.config_path.as_ref().map(|p| p.display().to_string());
    let body = html! {
        div.card {
            form method="post" action="/settings" {
                (csrf(&auth.csrf))
                label for="profile" { "Memory profile" }
                select #profile name="profile" {
                    option value="desktop" selected[cfg.limits.profile == Profile::Desktop] { "Desktop, laptop or Pi 4 (2 GB or more)" }
                    option value="small" selected[cfg.limits.profile == Profile::Small] { "Pi Zero 2 W or Pi 3 (512 MB – 1 GB)" }
                }
                p.muted { "Sizes every queue and table; takes effect when the node next starts." }
                label for="quota" { "Seeding quota for mirrors, GiB" }
                input #quota type="number" name="seeding_quota_gib" min="0" step="0.1" value=(format!("{quota_gib:.1}"));
                p.muted { "Space kept for content this node mirrors for others (now " (bytes(cfg.files.seeding_quota_bytes)) "; 0: no mirrors). Applies at once." }
                label for="upload" { "Upload cap, KiB/s" }
                input #upload type="number" name="upload_kib" min="0" step="1" value=(upload_kib);
                p.muted { "For all transfers together; 0: no cap. Applies at once." }
                @if let Some(f) = &file { p.muted { "Saved in " code { (f) } "." } }
                p { button type="submit" disabled[file.is_none()] { "Save" } }
            }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/settings",
        title: "Settings",
        refresh: None,
    }
    .render(body)
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    profile: String,
    seeding_quota_gib: String,
    upload_kib: String,
}

fn parse(f: &SettingsForm, mut cfg: Config) -> Result<Config, String> {
    cfg.limits.profile = match f.profile.as_str() {
        "desktop" => Profile::Desktop,
        "small" => Profile::Small,
        other => return Err(format!("unknown memory profile {other:?}")),
    };
    let gib: f64 = f
        .seeding_quota_gib
        .trim()
        .parse()
        .map_err(|_| "the seeding quota must be a number of GiB".to_string())?;
    if !(0.0..=1_000_000.0).contains(&gib) {
        return Err("the seeding quota must be between 0 and 1000000 GiB".into());
    }
    cfg.files.seeding_quota_bytes = (gib * GIB) as u64;
    let kib: u64 = f
        .upload_kib
        .trim()
        .parse()
        .map_err(|_| "the upload cap must be a whole number of KiB/s".to_string())?;
    cfg.files.upload_rate_limit = kib.saturating_mul(1024);
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// Writes the three keys into the file, keeping everything else in it.
fn write(path: &std::path::Path, cfg: &Config) -> Result<(), String> {
    let profile = match cfg.limits.profile {
        Profile::Desktop => "desktop",
        Profile::Small => "small",
    };
    let quota = i64::try_from(cfg.files.seeding_quota_bytes).unwrap_or(i64::MAX);
    let rate = i64::try_from(cfg.files.upload_rate_limit).unwrap_or(i64::MAX);
    warren_api::config::edit_file(
        path,
        |doc| {
            doc["limits"]["profile"] = toml_edit::value(profile);
            doc["files"]["seeding_quota_bytes"] = toml_edit::value(quota);
            doc["files"]["upload_rate_limit"] = toml_edit::value(rate);
        },
        |back| match back.files == cfg.files && back.limits.profile == cfg.limits.profile {
            true => Ok(()),
            false => Err("the configuration file overrides these settings elsewhere".into()),
        },
    )
    .map(drop)
}

pub(crate) async fn save(State(app): State<Arc<App>>, post: Post<SettingsForm>) -> Response {
    let back = || Redirect::to("/settings").into_response();
    let Some(path) = app.config_path.clone() else {
        flash(
            &app,
            &post.auth,
            false,
            "This node has no configuration file to save into.".into(),
        );
        return back();
    };
    let current = app.config.lock().expect(crate::HELD).clone();
    let cfg = match parse(&post.form, current.clone()) {
        Ok(c) => c,
        Err(e) => {
            flash(&app, &post.auth, false, format!("Not saved: {e}."));
            return back();
        }
    };
    if let Err(e) = write(&path, &cfg) {
        flash(&app, &post.auth, false, format!("Not saved: {e}."));
        return back();
    }
    let live = app
        .node
        .files()
        .set_limits(cfg.files.seeding_quota_bytes, cfg.files.upload_rate_limit)
        .await;
    let restart = cfg.limits.profile != current.limits.profile;
    {
        let mut c = app.config.lock().expect(crate::HELD);
        *c = cfg;
    }
    let text = match (live, restart) {
        (Err(e), _) => format!("Saved, but not applied: {e}."),
        (Ok(()), true) => "Saved. The quota and upload cap apply now; the memory profile when the node next starts.".into(),
        (Ok(()), false) => "Saved and applied.".into(),
    };
    flash(&app, &post.auth, true, text);
    back()
}
