//! `startup`: from spawning the process to the first 200 from /healthz, on an empty data
//! folder and on one holding 1,000,000 items (spread over 100 chats). The file cache is warm:
//! the folder was just written.

use super::{pick, Common};
use crate::chat;
use crate::http::Conn;
use crate::load;
use crate::procfs::round;
use crate::report::Report;
use crate::server::{Kind, Launcher};
use serde_json::{json, Value};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Starts measured per case.
    #[arg(long)]
    pub runs: Option<usize>,
    /// Items stored for the loaded case.
    #[arg(long)]
    pub items: Option<usize>,
    /// Chats the items are spread over.
    #[arg(long)]
    pub contacts: Option<usize>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let small = args.common.small;
    let runs = args.runs.unwrap_or(pick(small, 2, 7)).max(1);
    let items = args.items.unwrap_or(pick(small, 2_000, 1_000_000));
    let contacts = args.contacts.unwrap_or(pick(small, 2, 100)).max(1);
    let config =
        json!({"runs": runs, "items": items, "contacts": contacts, "common": args.common.describe()});
    eprintln!("startup: {runs} starts per case; loaded case: {items} items over {contacts} chats");
    let mut report = Report::new("startup", small, config);
    let launcher = args.common.launcher()?;
    for kind in args.common.kinds() {
        let figures = match kind {
            Kind::Baseline => {
                let dir = args.common.scratch("baseline")?;
                json!({"empty": starts(&launcher, Kind::Baseline, runs, || Ok(dir.0.clone())).await?})
            }
            Kind::Confab => confab(&launcher, &args.common, runs, items, contacts).await?,
        };
        report.run(kind.name(), figures);
    }
    report.ratio("start_to_healthy_empty", &["empty", "median_ms"]);
    let empty = report.get("confab", &["empty", "median_ms"]);
    let loaded = report.get("confab", &["loaded", "median_ms"]);
    report.target("start to healthy, empty data folder (median ms)", "<= 100", empty, |v| v <= 100.0);
    report.target(&format!("start to healthy, {items} stored items (median ms)"), "<= 1000", loaded, |v| {
        v <= 1000.0
    });
    report.print();
    Ok(())
}

async fn confab(
    launcher: &Launcher,
    common: &Common,
    runs: usize,
    items: usize,
    contacts: usize,
) -> anyhow::Result<Value> {
    let mut n = 0;
    let mut fresh = Vec::new();
    let empty = starts(launcher, Kind::Confab, runs, || {
        n += 1;
        let dir = common.scratch(&format!("empty-{n}"))?;
        let path = dir.0.clone();
        fresh.push(dir);
        Ok(path)
    })
    .await?;
    drop(fresh);
    let dir = common.scratch("loaded")?;
    prepare(launcher, &dir.0, items, contacts).await?;
    let loaded = starts(launcher, Kind::Confab, runs, || Ok(dir.0.clone())).await?;
    let db = std::fs::metadata(dir.0.join("confab.db")).map_or(0, |m| m.len());
    Ok(json!({"empty": empty, "loaded": loaded, "loaded_items": items, "loaded_db_mib": db / (1024 * 1024)}))
}

/// `contacts` chats made through the API, then `items` items spread over them.
async fn prepare(launcher: &Launcher, dir: &Path, items: usize, contacts: usize) -> anyhow::Result<()> {
    let server = launcher.start(Kind::Confab, dir).await?;
    let mut conn = Conn::connect(server.addr, None).await?;
    let mut targets = Vec::new();
    for i in 0..contacts {
        let c = chat::create(&mut conn, i).await?;
        let share = items / contacts + usize::from(i < items % contacts);
        targets.push(load::Target { contact_id: c.contact_id, customer_id: c.customer_id, items: share });
    }
    drop(conn);
    server.stop();
    load::fill(dir, &targets).await
}

/// `runs` starts, each on the folder `dir()` gives; their times in ms.
async fn starts(
    launcher: &Launcher,
    kind: Kind,
    runs: usize,
    mut dir: impl FnMut() -> anyhow::Result<std::path::PathBuf>,
) -> anyhow::Result<Value> {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let path = dir()?;
        let server = launcher.start(kind, &path).await?;
        ms.push(round(server.start_to_healthy.as_secs_f64() * 1000.0, 1));
        server.stop();
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(json!({
        "runs_ms": ms,
        "median_ms": sorted[sorted.len() / 2],
        "min_ms": sorted[0],
        "max_ms": sorted[sorted.len() - 1],
    }))
}
