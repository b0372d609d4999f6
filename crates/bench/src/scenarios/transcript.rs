//! `transcript`: GetTranscript (MaxResults 100) on contacts of 100, 100,000 and 1,000,000
//! items: the newest page as chatjs asks for it, then older pages by NextToken. The baseline
//! answers a page of 100 items kept in memory.

use super::{pick, Common};
use crate::chat;
use crate::http::Conn;
use crate::load;
use crate::procfs::{round, Window};
use crate::report::Report;
use crate::server::{Kind, Launcher};
use crate::tally::{histogram, summary};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Items per contact, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Option<Vec<usize>>,
    /// Measured calls per contact (one at a time).
    #[arg(long)]
    pub calls: Option<usize>,
}

/// Pages read by NextToken before starting over from the newest page.
const PAGES_PER_CYCLE: usize = 10;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let small = args.common.small;
    let sizes =
        args.sizes.clone().unwrap_or_else(|| pick(small, vec![100, 2_000], vec![100, 100_000, 1_000_000]));
    let calls = args.calls.unwrap_or(pick(small, 40, 3_000));
    let warm = calls / 10;
    let config = json!({"sizes": sizes, "calls_per_contact": calls, "warmup_calls": warm, "max_results": 100,
                        "pages_per_cycle": PAGES_PER_CYCLE, "common": args.common.describe()});
    eprintln!("transcript: contacts of {sizes:?} items, {calls} calls each");
    let mut report = Report::new("transcript", small, config);
    let launcher = args.common.launcher()?;
    for kind in args.common.kinds() {
        let figures = match kind {
            Kind::Baseline => baseline(&launcher, &args.common, calls, warm).await?,
            Kind::Confab => confab(&launcher, &args.common, &sizes, calls, warm).await?,
        };
        report.run(kind.name(), figures);
    }
    let (first, last) = (sizes.first().copied().unwrap_or(0), sizes.last().copied().unwrap_or(0));
    let (small_key, large_key) = (first.to_string(), last.to_string());
    let p99 = |key: &str| ["sizes", key, "all", "p99_ms"].map(str::to_owned);
    report.ratio_of("p99_largest_vs_baseline", &as_refs(&p99(&large_key)), &["all", "p99_ms"]);
    let large = report.get("confab", &as_refs(&p99(&large_key)));
    let growth = large.zip(report.get("confab", &as_refs(&p99(&small_key)))).map(|(l, s)| l / s.max(1e-9));
    report.target(&format!("p99 on a {last}-item contact (ms)"), "<= 2.0", large, |v| v <= 2.0);
    report.target(&format!("p99 at {last} items over p99 at {first} items"), "<= 1.5", growth, |v| v <= 1.5);
    report.print();
    Ok(())
}

fn as_refs(v: &[String; 4]) -> [&str; 4] {
    [v[0].as_str(), v[1].as_str(), v[2].as_str(), v[3].as_str()]
}

async fn baseline(launcher: &Launcher, common: &Common, calls: usize, warm: usize) -> anyhow::Result<Value> {
    let dir = common.scratch("baseline")?;
    let server = launcher.start(Kind::Baseline, &dir.0).await?;
    let mut conn = Conn::connect(server.addr, None).await?;
    let window = Window::start(Some(server.pid));
    let pages = read_pages(&mut conn, "baseline/reader", calls, warm).await?;
    let mut figures = pages.json();
    figures["window"] = window.end();
    server.stop();
    Ok(figures)
}

async fn confab(
    launcher: &Launcher,
    common: &Common,
    sizes: &[usize],
    calls: usize,
    warm: usize,
) -> anyhow::Result<Value> {
    let dir = common.scratch("confab")?;
    let server = launcher.start(Kind::Confab, &dir.0).await?;
    let mut conn = Conn::connect(server.addr, None).await?;
    let mut targets = Vec::new();
    let mut tokens = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let created = chat::create(&mut conn, i).await?;
        tokens.push(chat::connect(&mut conn, &created.customer_token).await?.connection_token);
        targets.push(load::Target {
            contact_id: created.contact_id,
            customer_id: created.customer_id,
            items: *size,
        });
    }
    drop(conn);
    server.stop();
    let started = Instant::now();
    load::fill(&dir.0, &targets).await?;
    let fill_secs = started.elapsed().as_secs_f64();
    eprintln!("  filled {} items in {fill_secs:.1} s", sizes.iter().sum::<usize>());
    let server = launcher.start(Kind::Confab, &dir.0).await?;
    let mut conn = Conn::connect(server.addr, None).await?;
    let window = Window::start(Some(server.pid));
    let mut by_size = Map::new();
    for (size, token) in sizes.iter().zip(&tokens) {
        let pages = read_pages(&mut conn, token, calls, warm).await?;
        by_size.insert(size.to_string(), pages.json());
    }
    let db = std::fs::metadata(dir.0.join("confab.db")).map_or(0, |m| m.len());
    let figures = json!({
        "sizes": by_size,
        "fill_secs": round(fill_secs, 1),
        "db_mib": db / (1024 * 1024),
        "restart_to_healthy_ms": round(server.start_to_healthy.as_secs_f64() * 1000.0, 1),
        "window": window.end(),
    });
    server.stop();
    Ok(figures)
}

struct Pages {
    first: Histogram<u64>,
    next: Histogram<u64>,
    items_seen: u64,
    errors: u64,
}

impl Pages {
    fn json(&self) -> Value {
        let mut all = self.first.clone();
        let _ = all.add(&self.next);
        json!({"all": summary(&all), "newest_page": summary(&self.first), "older_pages": summary(&self.next),
               "items_per_page": round(self.items_seen as f64 / all.len().max(1) as f64, 1), "errors": self.errors})
    }
}

/// `warm + calls` GetTranscript calls one after another; the last `calls` are recorded.
async fn read_pages(conn: &mut Conn, token: &str, calls: usize, warm: usize) -> anyhow::Result<Pages> {
    let mut pages = Pages { first: histogram(), next: histogram(), items_seen: 0, errors: 0 };
    let mut next: Option<String> = None;
    let mut in_cycle = 0;
    for k in 0..warm + calls {
        let body = match next.take().filter(|_| in_cycle < PAGES_PER_CYCLE) {
            Some(t) => {
                json!({"MaxResults": 100, "ScanDirection": "BACKWARD", "SortOrder": "ASCENDING", "NextToken": t})
            }
            None => {
                in_cycle = 0;
                json!({"MaxResults": 100, "ScanDirection": "BACKWARD", "SortOrder": "ASCENDING", "StartPosition": {}})
            }
        };
        let is_first = in_cycle == 0;
        let body = serde_json::to_vec(&body)?;
        let started = Instant::now();
        let answer = conn.call("POST", "/participant/transcript", &[("X-Amz-Bearer", token)], &body).await?;
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
        in_cycle += 1;
        let Ok(v) = answer.ok_json() else {
            pages.errors += 1;
            continue;
        };
        next = v["NextToken"].as_str().map(str::to_owned);
        if k < warm {
            continue;
        }
        pages.items_seen += v["Transcript"].as_array().map_or(0, |t| t.len() as u64);
        if is_first { &mut pages.first } else { &mut pages.next }.saturating_record(took);
    }
    Ok(pages)
}
