//! The `muster` command: parse the command line, set up logging, call the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use muster::demo::{drill, village};
use muster::http::listen::Listener;
use muster::messages::{Lang, cli as say, report};
use muster::roster::import::ReadOptions;
use std::sync::Arc;
use tokio::net::TcpListener;

/// mimalloc instead of glibc's malloc: a request allocates and frees dozens of small
/// buffers across threads, where glibc's arenas took ~15 % of the server's CPU under load
/// (perf, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Account for every person in a village, town or city, live")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The language of what this command says to a person (its lines, the import report,
    /// the error it ends with): zh (Simplified Chinese, the default) or en (for scripts
    /// that read the lines, too). Not read from LANG, which servers often set to English
    /// whoever reads the output.
    #[arg(long, global = true, env = "MUSTER_LANG", default_value = "zh", value_parser = parse_lang)]
    lang: Lang,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| say::lang_unknown(s))
}

#[derive(Subcommand)]
enum Command {
    /// Serve an existing database.
    Serve {
        /// sqlite://FILE (or a file path), or postgres://USER@HOST/DB.
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        #[arg(long, env = "MUSTER_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// The address phones reach this server at, for pairing links (e.g. https://muster.example.cn).
        #[arg(long, env = "MUSTER_PUBLIC_URL")]
        public_url: Option<String>,
        /// Serve HTTPS with this certificate chain (PEM, leaf first), e.g. Let's Encrypt's fullchain.pem.
        #[arg(long, env = "MUSTER_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's private key (PEM), e.g. Let's Encrypt's privkey.pem.
        #[arg(long, env = "MUSTER_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
        /// Serve HTTPS with a certificate obtained (and renewed) by ACME for this public domain
        /// (repeat for several); needs --bind on the public port 443.
        #[arg(long, env = "MUSTER_ACME_DOMAIN", conflicts_with = "tls_cert")]
        acme_domain: Vec<String>,
        /// An e-mail address the certificate authority may write to about the certificate.
        #[arg(long, env = "MUSTER_ACME_CONTACT")]
        acme_contact: Vec<String>,
        /// Where the ACME account key and certificates are kept across restarts.
        #[arg(long, env = "MUSTER_ACME_CACHE", default_value = "acme-cache")]
        acme_cache: std::path::PathBuf,
        /// The certificate authority's ACME directory (default: Let's Encrypt).
        #[arg(long, env = "MUSTER_ACME_DIRECTORY", default_value = muster::http::listen::LETS_ENCRYPT)]
        acme_directory: String,
        /// Root certificates (PEM) to trust for a private certificate authority's own HTTPS.
        #[arg(long, env = "MUSTER_ACME_CA_ROOTS")]
        acme_ca_roots: Option<std::path::PathBuf>,
    },
    /// Create or update the database schema, then exit (serve and demo also do this).
    Migrate {
        /// sqlite://FILE (or a file path), or postgres://USER@HOST/DB.
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
    },
    /// Import the village's roster sheet (.xlsx, or .csv in UTF-8 or GBK) into a database
    /// no server is serving (on a running server, use the import page), or write a template.
    Import {
        /// The roster file.
        #[arg(required_unless_present = "template")]
        file: Option<std::path::PathBuf>,
        /// sqlite://FILE (or a file path), or postgres://USER@HOST/DB.
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        /// The workbook's sheet (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// The CSV's encoding, e.g. gbk or utf-8 (default: detected).
        #[arg(long)]
        encoding: Option<String>,
        /// Check everything and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Limit the import to one area (its id, name, or a path such as 东片区/第1网格):
        /// rows outside it are refused, everything outside it stays as it is.
        #[arg(long, value_name = "NAME_OR_ID")]
        area: Option<String>,
        /// The number of residents, households, staff and points the import removes, as a
        /// dry run reports it. Needed when it removes any and stdin is not a terminal
        /// (on a terminal the command asks).
        #[arg(long, value_name = "N")]
        confirm_removals: Option<usize>,
        /// Write a template (.xlsx with the residents', staff and sampling-point sheets, or
        /// .csv with the residents' only) with the expected columns and example rows.
        #[arg(long, value_name = "FILE", conflicts_with = "file")]
        template: Option<std::path::PathBuf>,
    },
    /// Make the first administrator, or a pairing link for anyone, in a database no server
    /// is serving (a served database prints its own setup link at start-up).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write the household cards (党群连心卡) as one A4 HTML document to print: one card
    /// per household with its QR code and each resident's, issuing codes where needed.
    Cards {
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        /// The document to write.
        #[arg(long, default_value = "cards.html")]
        out: std::path::PathBuf,
        /// Only this household's card (by its id), e.g. after a reissue.
        #[arg(long, value_name = "ID")]
        household: Option<i64>,
    },
    /// Write the after-action report (复盘) of an action: its timeline, curve, points, areas,
    /// grid members, who is still missing, late events and tubes, beside earlier rounds.
    Report {
        /// The action's id.
        action: i64,
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        /// html (one self-contained page to print or send), xlsx, csv or json.
        #[arg(long, default_value = "html")]
        format: String,
        /// The file to write (default: report-ACTION.FORMAT).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Earlier rounds to set beside it (same kind, overlapping area); repeat for several.
        #[arg(long, value_name = "ACTION")]
        compare: Vec<i64>,
    },
    /// Generate a demo village in a fresh database, open a testing action, serve it and
    /// play the night through the API.
    Demo {
        /// Default: a new file in the temporary directory.
        #[arg(long, env = "MUSTER_DB")]
        db: Option<String>,
        #[arg(long, env = "MUSTER_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// The address phones reach this server at, for pairing links (e.g. http://192.168.1.10:8080).
        #[arg(long, env = "MUSTER_PUBLIC_URL")]
        public_url: Option<String>,
        /// Simulated seconds per real second (60: the 3-hour night in 3 minutes).
        #[arg(long, default_value_t = 60.0)]
        speed: f64,
        #[arg(long, default_value_t = 2022_04_22)]
        seed: u64,
        /// Serve the village with the action open, without playing the drill.
        #[arg(long)]
        no_drill: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Add an administrator and print a pairing link that signs their phone or browser in.
    Create {
        #[arg(long)]
        name: String,
        /// Their mobile number (11 digits), for signing in at a computer later.
        #[arg(long)]
        phone: String,
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        /// The address phones reach the server at, for the link (default http://127.0.0.1:8080).
        #[arg(long, env = "MUSTER_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Print a new pairing link for a staff member, by id or by name.
    PairingLink {
        /// The staff member's id, or their name as the roster has it.
        staff: String,
        #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
        db: String,
        #[arg(long, env = "MUSTER_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

/// `muster admin …`: writes to the database directly, as `muster import` does.
async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    use muster::roster::{Phone, Role};
    let (db, public_url) = match &command {
        AdminCommand::Create { db, public_url, .. } | AdminCommand::PairingLink { db, public_url, .. } => {
            (db, public_url)
        }
    };
    let lang = Lang::current();
    let base = public_url.as_deref().unwrap_or("http://127.0.0.1:8080").trim_end_matches('/').to_owned();
    let store = open(db).await?;
    let staff = store.load_roster().await?.staff;
    let id = match &command {
        AdminCommand::Create { name, phone, .. } => {
            let name = name.trim();
            anyhow::ensure!(!name.is_empty(), say::admin_name_missing(lang));
            let phone = Phone::parse(phone).map_err(|_| anyhow::anyhow!(say::phone_invalid(phone, lang)))?;
            if let Some(s) = staff.iter().find(|s| s.phone.as_ref() == Some(&phone)) {
                anyhow::bail!(say::phone_taken(s.id, s.role, lang));
            }
            let new = muster::store::accounts::NewStaff {
                name,
                phone: Some(phone.expose()),
                role: Role::Admin.as_str(),
                point_id: None,
            };
            let id = store.accounts().insert_staff(&new, &[], &[]).await?;
            println!("{}", say::admin_added(id, lang));
            id
        }
        AdminCommand::PairingLink { staff: who, .. } => {
            let found: Vec<_> = staff.iter().filter(|s| s.id.to_string() == *who || s.name == who.trim()).collect();
            match found.as_slice() {
                [one] => one.id,
                [] => anyhow::bail!(say::no_such_staff(who, lang)),
                many => {
                    let ids: Vec<i64> = many.iter().map(|s| s.id).collect();
                    anyhow::bail!(say::staff_name_ambiguous(who, &ids, lang))
                }
            }
        }
    };
    let (code, expires) = muster::auth::Auth::new(store.accounts()).create_pairing(id, id).await?;
    println!("{}", say::pairing_link_follows(expires, lang));
    println!("  {base}/pair.html?code={code}");
    Ok(())
}

/// What `muster import` was asked to do, beyond reading the file.
struct ImportArgs {
    dry_run: bool,
    area: Option<String>,
    confirm_removals: Option<usize>,
}

/// `muster import`: the report on stdout; every problem on stderr and a failing exit. An
/// import that removes rows asks on a terminal, and needs `--confirm-removals` otherwise.
async fn import(
    file: Option<std::path::PathBuf>,
    db: &str,
    options: ReadOptions,
    args: ImportArgs,
    template: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use muster::roster::import::{self, Format, ImportError};
    use muster::store::import::{ImportFailure, ImportOptions};
    use std::io::IsTerminal;
    let lang = Lang::current();
    let format_of = |p: &std::path::Path| {
        Format::from_name(&p.to_string_lossy()).with_context(|| report::name_the_format(&p.display().to_string(), lang))
    };
    if let Some(path) = template {
        let format = format_of(&path)?;
        std::fs::write(&path, import::write_book(&import::export::template_book(), format)?)?;
        println!("{}", report::template_written(&path.display().to_string(), format == Format::Xlsx, lang));
        return Ok(());
    }
    let path = file.with_context(|| report::name_the_file(lang))?;
    let bytes = std::fs::read(&path).with_context(|| report::cannot_read(&path.display().to_string(), lang))?;
    let started = std::time::Instant::now();
    let sheet = match import::read_sheet(&bytes, format_of(&path)?, &options) {
        Err(ImportError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{}", report::problem_line(p, Lang::current()));
            }
            anyhow::bail!(report::problems_total(&path.display().to_string(), problems.len(), lang));
        }
        other => other?,
    };
    let store = open(db).await?;
    let current = store.load_roster().await?;
    let area = match &args.area {
        Some(a) => {
            Some(import::find_area(&current, a).map_err(|e| anyhow::anyhow!(report::area_unknown(a, &e, lang)))?)
        }
        None => None,
    };
    let mut options = ImportOptions { dry_run: args.dry_run, area, confirm_removals: args.confirm_removals };
    let imported = loop {
        match muster::store::import::import(store.as_ref(), &current, &sheet, options).await {
            Err(ImportFailure::Invalid(problems)) => {
                for p in &problems {
                    eprintln!("{}", report::problem_line(p, Lang::current()));
                }
                anyhow::bail!(report::problems_total(&path.display().to_string(), problems.len(), lang));
            }
            Err(ImportFailure::Unconfirmed(planned)) => {
                let total = planned.removals.total;
                print!("{}", report::report_text(&planned, Lang::current()));
                println!("{}", report::removals(&planned, lang));
                if let Some(n) = options.confirm_removals {
                    anyhow::bail!(report::removals_mismatch(n, total, lang));
                }
                if !std::io::stdin().is_terminal() {
                    anyhow::bail!(report::removals_need_confirming(total, lang));
                }
                print!("{}", report::removals_question(total, lang));
                std::io::Write::flush(&mut std::io::stdout())?;
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes" | "是") {
                    anyhow::bail!(report::nothing_imported(lang));
                }
                options.confirm_removals = Some(total);
            }
            other => break other?,
        }
    };
    print!("{}", report::report_text(&imported.report, Lang::current()));
    let seconds = started.elapsed().as_secs_f64();
    println!("{}", report::done(sheet.residents(), args.dry_run, seconds, lang));
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("stopping");
}

/// Where phones and browsers reach this server: `--public-url`, or the address listened
/// on (a wildcard address read as this machine).
fn public_base(public_url: Option<&str>, listener: &Listener) -> anyhow::Result<String> {
    if let Some(url) = public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("{}://{addr}", listener.scheme()))
}

/// The database at `db`, its schema brought up to date.
async fn open(db: &str) -> anyhow::Result<Arc<dyn muster::store::Store>> {
    muster::store::open(db).await.with_context(|| say::cannot_open(db, Lang::current()))
}

async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| say::cannot_listen(addr, Lang::current()))
}

/// The last line printed before serving: tests and scripts wait for it.
fn listening(listener: &Listener) -> anyhow::Result<()> {
    let url = format!("{}://{}", listener.scheme(), listener.local_addr()?);
    println!("{}", say::listening(&url, Lang::current()));
    Ok(())
}

/// Errors a person can act on (a busy port, a missing file, a database that cannot be
/// reached) end the program with one line saying what and why, not a backtrace.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e, Lang::current()));
            std::process::ExitCode::FAILURE
        }
    }
}

/// What failed and why, cause by cause, in the catalogue's words where it has them for the
/// kind of cause (what lies under such a cause is the system's detail, and left out).
fn error_line(e: &anyhow::Error, lang: Lang) -> String {
    use muster::store::StoreError;
    let mut causes: Vec<String> = Vec::new();
    for cause in e.chain() {
        let ours = match (cause.downcast_ref::<std::io::Error>(), cause.downcast_ref::<StoreError>()) {
            (Some(io), _) => say::io_error(io.kind(), lang),
            (_, Some(StoreError::Database(sqlx::Error::PoolTimedOut))) => Some(say::database_unreachable(lang)),
            _ => None,
        };
        if let Some(words) = ours {
            causes.push(words);
            break;
        }
        // A wrapper that shows its source (`database error: …`) is followed by the source.
        let text = cause.to_string();
        if !causes.last().is_some_and(|last| last.ends_with(&text)) {
            causes.push(text);
        }
    }
    say::error_line(&causes, lang)
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "muster=info".into()))
        .with_writer(std::io::stderr)
        .init();
    match muster::raise_open_files_limit() {
        Ok(n) => tracing::info!(limit = n, "open files limit raised"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open files limit"),
    }
    let cli = Cli::parse();
    Lang::set_process_default(cli.lang);
    match cli.command {
        Command::Serve {
            db,
            bind: addr,
            public_url,
            tls_cert,
            tls_key,
            acme_domain,
            acme_contact,
            acme_cache,
            acme_directory,
            acme_ca_roots,
        } => {
            use muster::http::listen;
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(listen::given(&cert, &key)?),
                _ if !acme_domain.is_empty() => Some(listen::acme(&listen::AcmeSettings {
                    domains: acme_domain,
                    contact: acme_contact,
                    cache: acme_cache,
                    directory: acme_directory,
                    ca_roots: acme_ca_roots,
                })?),
                _ => None,
            };
            let store = open(&db).await?;
            let listener: Listener = match tls {
                Some(config) => Listener::Tls(muster::http::listen::TlsListener::new(bind(&addr).await?, config)?),
                None => bind(&addr).await?.into(),
            };
            let setup_code = muster::first_admin_code(store.as_ref()).await?;
            if let Some(code) = &setup_code {
                let base = public_base(public_url.as_deref(), &listener)?;
                println!("{}", say::setup_link_follows(Lang::current()));
                println!("  {base}/setup.html?code={code}");
            }
            listening(&listener)?;
            muster::serve(
                store,
                listener,
                muster::Settings { public_url, setup_code, ..Default::default() },
                shutdown_signal(),
            )
            .await?;
        }
        Command::Cards { db, out, household } => {
            let lang = Lang::current();
            let store = open(&db).await?;
            let roster = muster::roster::Roster::new(store.load_roster().await?)?;
            let households = match household {
                Some(h) => {
                    anyhow::ensure!(roster.household(h).is_some(), say::no_such_household(h, lang));
                    vec![h]
                }
                None => muster::cards::print::households_to_print(&roster, |_| true),
            };
            let now = time::OffsetDateTime::now_utc();
            let doc = muster::cards::print::render(store.as_ref(), &roster, &households, now).await?;
            let shown = out.display().to_string();
            std::fs::write(&out, &doc.html).with_context(|| say::cannot_write(&shown, lang))?;
            println!("{}", say::cards_written(&shown, doc.households, doc.residents, doc.pages, lang));
        }
        Command::Migrate { db } => {
            open(&db).await?;
            println!("{}", say::schema_up_to_date(&db, Lang::current()));
        }
        Command::Admin { command } => admin(command).await?,
        Command::Import { file, db, sheet, encoding, dry_run, area, confirm_removals, template } => {
            let args = ImportArgs { dry_run, area, confirm_removals };
            import(file, &db, ReadOptions { sheet, encoding }, args, template).await?;
        }
        Command::Report { action, db, format, out, compare } => {
            let path = report(action, &db, &format, out, &compare).await?;
            println!("{}", muster::messages::review::written(&path.display().to_string(), Lang::current()));
        }
        Command::Demo { db, bind: addr, public_url, speed, seed, no_drill } => {
            let db = db.unwrap_or_else(|| {
                let file = std::env::temp_dir().join(format!("muster-demo-{}.db", std::process::id()));
                format!("sqlite://{}", file.display())
            });
            // The port first: a busy one fails before anything is written.
            let listener: Listener = bind(&addr).await?.into();
            let lang = Lang::current();
            let store = open(&db).await?;
            let existing = store.load_roster().await?;
            // A demo started again on its own database serves the village as it was left.
            let (roster, action_id, fresh) = if existing.nodes.is_empty() {
                let village = village::generate(seed);
                store.insert_roster(&village.roster).await?;
                let action = store.create_action(&village.action, time::OffsetDateTime::now_utc()).await?;
                (village.roster, action.id, true)
            } else {
                let action =
                    store.actions().await?.into_iter().next().with_context(|| say::demo_has_no_action(lang))?;
                println!("{}", say::demo_again(&db, lang));
                (existing, action.id, false)
            };
            let roster = Arc::new(muster::roster::Roster::new(roster)?);
            let (households, residents) = (roster.households().len(), roster.residents().len());
            let (staff, points) = (roster.staff().len(), roster.points().len());
            println!("{}", say::demo_village(&db, households, residents, staff, points, lang));
            listening(&listener)?;
            let base = format!("http://{}", listener.local_addr()?);
            let auth = muster::auth::Auth::new(store.accounts());
            print_links(&roster, &auth, public_url.as_deref().map_or(base.as_str(), |u| u.trim_end_matches('/')))
                .await?;
            // The drill's phones and points, signed in the way a paired phone is.
            let mut tokens = std::collections::HashMap::new();
            for s in roster.staff() {
                tokens.insert(s.id, auth.issue(s.id, "demo drill").await?.1);
            }
            // The drill's night runs at its speed, and so do the escalation deadlines in it.
            let start = time::OffsetDateTime::now_utc();
            let drilling = fresh && !no_drill;
            let deadlines = drilling.then(|| muster::auth::Clock::running_at(start, speed));
            let settings = muster::Settings { public_url, deadlines, ..Default::default() };
            let server = tokio::spawn(muster::serve(store, listener, settings, shutdown_signal()));
            if !drilling {
                open_action(&roster, &tokens, &base, action_id).await?;
            } else {
                let opts = drill::DrillOptions {
                    base_url: base.clone(),
                    tokens,
                    action_id,
                    speed,
                    seed,
                    start,
                    hours: drill::HOURS,
                };
                let db = db.clone();
                tokio::spawn(async move {
                    let report = drill::run(roster, opts).await;
                    println!("{}", say::drill_finished(report.posted, report.failed, lang));
                    // The night's after-action report, beside the database.
                    let name = format!("muster-report-{action_id}.html");
                    let out = match db.strip_prefix("sqlite://") {
                        Some(file) => std::path::Path::new(file).with_file_name(name),
                        None => std::env::temp_dir().join(name),
                    };
                    match self::report(action_id, &db, "html", Some(out), &[]).await {
                        Ok(path) => {
                            println!("{}", muster::messages::review::written(&path.display().to_string(), lang))
                        }
                        Err(e) => eprintln!("{}", error_line(&e, lang)),
                    }
                });
            }
            server.await??;
        }
    }
    Ok(())
}

/// `muster report`: builds the report and writes it in the format asked for; the path.
async fn report(
    action: i64,
    db: &str,
    format: &str,
    out: Option<std::path::PathBuf>,
    compare: &[i64],
) -> anyhow::Result<std::path::PathBuf> {
    use muster::messages::review as say;
    use muster::report::{self, Format, ReportError};
    let lang = Lang::current();
    let format = Format::parse(format).with_context(|| say::unknown_format(format, lang))?;
    let store = open(db).await?;
    let built = report::build(store.as_ref(), action, compare, time::OffsetDateTime::now_utc()).await;
    let r = match built {
        Err(ReportError::UnknownAction(id)) => anyhow::bail!(say::unknown_action(id, lang)),
        Err(ReportError::NotComparable { other, why, .. }) => anyhow::bail!(say::not_comparable(other, why, lang)),
        other => other?,
    };
    let path = out.unwrap_or_else(|| format!("report-{action}.{}", format.extension()).into());
    std::fs::write(&path, format.render(&r, lang)?)?;
    Ok(path)
}

/// One pairing link per role, so a person can bring a browser into service as each.
async fn print_links(roster: &muster::roster::Roster, auth: &muster::auth::Auth, base: &str) -> anyhow::Result<()> {
    use muster::roster::Role;
    let lang = Lang::current();
    // The admin's last: scripts that read the links know then that all are printed.
    let roles = [
        Role::Chief,
        Role::Viewer,
        Role::GridHead,
        Role::GridMember,
        Role::Operator,
        Role::Medic,
        Role::Lab,
        Role::Admin,
    ];
    let admin = roster.staff().iter().find(|s| s.role == Role::Admin).map_or(0, |s| s.id);
    println!("{}", say::pairing_links_follow(lang));
    for role in roles {
        if let Some(s) = roster.staff().iter().find(|s| s.role == role) {
            let (code, _) = auth.create_pairing(s.id, admin).await?;
            println!("{}", say::role_link(role, s.id, &format!("{base}/pair.html?code={code}"), lang));
        }
    }
    Ok(())
}

/// With `--no-drill` the action is opened by the chief through the API, as in real use.
async fn open_action(
    roster: &muster::roster::Roster,
    tokens: &std::collections::HashMap<i64, String>,
    base: &str,
    action: i64,
) -> anyhow::Result<()> {
    let lang = Lang::current();
    let chief = roster
        .staff()
        .iter()
        .find(|s| s.role == muster::roster::Role::Chief)
        .with_context(|| say::demo_has_no_chief(lang))?;
    let body = serde_json::json!({ "events": [{ "id": uuid::Uuid::now_v7(), "type": "action_opened" }] });
    let response = reqwest::Client::new()
        .post(format!("{base}/api/actions/{action}/events"))
        .bearer_auth(&tokens[&chief.id])
        .json(&body)
        .send()
        .await?;
    // 409: opened (or closed) before this start; the demo serves it as it is.
    let status = response.status();
    let code = if status.is_success() {
        String::new()
    } else {
        response.json::<serde_json::Value>().await?["code"].to_string()
    };
    match code.trim_matches('"') {
        "" | "action_already_open" => println!("{}", say::action_open(action, lang)),
        "action_closed" => println!("{}", say::action_closed(action, lang)),
        other => anyhow::bail!(say::opening_failed(&status.to_string(), other, lang)),
    }
    Ok(())
}
