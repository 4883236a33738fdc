//! The `muster` command, on the real binary, speaks Chinese unless told `--lang en` (or
//! `MUSTER_LANG=en`): the lines of `admin`, `serve`, `migrate` and `demo`, and the one
//! line it ends with on an error a person can act on.

use crate::helpers::Database;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// `muster ARGS…` in `lang` (`None`: as a clerk runs it, with no language given):
/// whether it succeeded, its stdout, and its stderr (the error line; logs are off).
async fn muster(lang: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"));
    command.args(args).env("RUST_LOG", "off").env_remove("MUSTER_LANG");
    if let Some(lang) = lang {
        command.env("MUSTER_LANG", lang);
    }
    let out = command.output().await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Starts `muster ARGS…` in `lang` and returns its stdout's lines up to the first that
/// `last` accepts (failing after 60 s), then stops it.
async fn lines_until(lang: &str, args: &[&str], last: impl Fn(&str) -> bool) -> Vec<String> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(args)
        .env("MUSTER_LANG", lang)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = out.next_line().await.unwrap() {
            let done = last(&line);
            lines.push(line);
            if done {
                return;
            }
        }
        panic!("muster {args:?} ended after {lines:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("muster {args:?} did not get there within 60 s"));
    child.kill().await.unwrap();
    lines
}

/// The one-time code at the end of a printed link.
fn code_of(line: &str) -> &str {
    line.rsplit_once("code=").expect("a link with a code").1
}

#[tokio::test]
async fn admin_create_and_pairing_link_speak_chinese_unless_asked_for_english() {
    let db = Database::fresh().await;
    let (ok, out, err) =
        muster(None, &["admin", "create", "--name", "李秀英", "--phone", "13911112222", "--db", &db.url]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let id: i64 = lines[0].strip_prefix("已添加管理员 #").expect(&out).parse().unwrap();
    assert!(lines[1].starts_with("配对链接（只能用一次，") && lines[1].ends_with(" UTC 前有效）："), "{out}");
    assert!(lines[2].starts_with("  http://127.0.0.1:8080/pair.html?code="), "{out}");
    assert_eq!(code_of(lines[2]).len(), 9, "{out}");

    let (ok, out, _) = muster(Some("en"), &["admin", "pairing-link", "李秀英", "--db", &db.url]).await;
    assert!(ok);
    assert!(out.starts_with("pairing link (works once, until ") && out.contains(" UTC):\n  http://"), "{out}");
    let (ok, out, _) = muster(None, &["--lang", "en", "admin", "pairing-link", &id.to_string(), "--db", &db.url]).await;
    assert!(ok && out.starts_with("pairing link"), "--lang as MUSTER_LANG: {out}");

    let again = ["admin", "create", "--name", "张三", "--phone", "13911112222", "--db", &db.url];
    assert_eq!(
        muster(None, &again).await,
        (false, String::new(), format!("muster: 工作人员 #{id}（管理员）已经用了这个电话号码\n"))
    );
    assert_eq!(
        muster(Some("en"), &again).await.2,
        format!("muster: staff member #{id} (administrator) already has this phone number\n")
    );
    let nobody = ["admin", "pairing-link", "无此人", "--db", &db.url];
    assert_eq!(muster(None, &nobody).await.2, "muster: 没有编号或姓名为 \"无此人\" 的工作人员\n");
    assert_eq!(muster(Some("en"), &nobody).await.2, "muster: no staff member has the id or name \"无此人\"\n");
    let bad_phone = ["admin", "create", "--name", "张三", "--phone", "1391111", "--db", &db.url];
    assert_eq!(
        muster(None, &bad_phone).await.2,
        "muster: --phone 1391111：电话号码格式不对：1开头的11位手机号，或 010-6996xxxx 这样的座机\n"
    );
}

#[tokio::test]
async fn serve_says_how_to_become_the_first_admin_and_where_it_listens_in_either_language() {
    let db = Database::fresh().await;
    let serve = ["serve", "--db", db.url.as_str(), "--bind", "127.0.0.1:0"];
    for (lang, follows, listening) in [
        ("zh", "还没有管理员：打开下面的链接，成为第一位管理员（只能用一次）：", "正在监听 "),
        ("en", "no administrator yet: open this link to become the first one (it works once):", "listening on "),
    ] {
        let lines = lines_until(lang, &serve, |l| l.starts_with(listening)).await;
        let base = lines[2].strip_prefix(listening).expect("the address last").to_owned();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], follows);
        assert_eq!(lines[1], format!("  {base}/setup.html?code={}", code_of(&lines[1])));
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    }
    assert_eq!(muster(None, &["migrate", "--db", &db.url]).await.1, format!("{}：数据库结构已是最新\n", db.url));
}

#[tokio::test]
async fn a_busy_port_a_missing_file_and_a_wrong_database_address_are_one_line_each() {
    let db = Database::fresh().await;
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let serve = ["serve", "--db", db.url.as_str(), "--bind", addr.as_str()];
    assert_eq!(
        muster(None, &serve).await.2,
        format!(
            "muster: 无法监听 {addr}：这个端口已被占用（也许另一个 muster 正在运行）：请停掉它，或用 --bind 换一个端口\n"
        )
    );
    assert_eq!(
        muster(Some("en"), &serve).await.2,
        format!(
            "muster: cannot listen on {addr}: the port is in use (another muster running?): stop it, or give \
             another port with --bind\n"
        )
    );
    let import = ["import", "/nonexistent/花名册.xlsx", "--db", db.url.as_str()];
    assert_eq!(muster(None, &import).await.2, "muster: 无法读取 /nonexistent/花名册.xlsx：没有这个文件或目录\n");
    assert_eq!(
        muster(Some("en"), &import).await.2,
        "muster: cannot read /nonexistent/花名册.xlsx: no such file or directory\n"
    );
    assert_eq!(
        muster(None, &["migrate", "--db", "mysql://x"]).await.2,
        "muster: 无法打开数据库 mysql://x：不认识的数据库地址 \"mysql://x\"：请用 sqlite://文件、文件路径，或 postgres://…\n"
    );
}

#[tokio::test]
async fn the_demo_speaks_chinese_unless_asked_for_english() {
    for (lang, village, listening, links, chief, opened) in [
        (
            "zh",
            "演示村庄在 ",
            "正在监听 http://",
            "配对链接（每个角色一个；每个只能用一次，24 小时内有效）：",
            "  指挥中心（总网格长）工作人员 #",
            "行动 1 已开始",
        ),
        (
            "en",
            "demo village in ",
            "listening on http://",
            "pairing links (one per role; each works once, for 24 hours):",
            "  command centre (chief) staff #",
            "action 1 is open",
        ),
    ] {
        let db = Database::fresh().await;
        let demo = ["demo", "--no-drill", "--db", db.url.as_str(), "--bind", "127.0.0.1:0"];
        let lines = lines_until(lang, &demo, |l| l.starts_with(opened.split(' ').next().unwrap())).await;
        assert!(lines[0].starts_with(&format!("{village}{}", db.url)), "{lines:?}");
        assert!(lines[1].starts_with(listening), "{lines:?}");
        assert_eq!(lines[2], links);
        assert!(lines[3].starts_with(chief) && lines[3].contains("/pair.html?code="), "{lines:?}");
        assert_eq!(lines.last().unwrap(), opened);
        if lang == "zh" {
            let (households, residents) = lines[0].split_once('：').unwrap().1.split_once("户，").unwrap();
            assert!(households.trim().parse::<usize>().is_ok() && residents.contains(" 位村民，"), "{}", lines[0]);
        }
    }
}

#[tokio::test]
async fn cards_writes_the_village_s_cards_once_issued_and_names_a_household_it_lacks() {
    let db = Database::fresh().await;
    let store = muster::store::open(&db.url).await.unwrap();
    store.insert_roster(&muster::demo::village::generate(11).roster).await.unwrap();
    drop(store);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("户卡.html");
    let out = out.to_str().unwrap();
    let (ok, said, err) = muster(None, &["cards", "--db", &db.url, "--out", out]).await;
    assert!(ok, "{err}");
    assert_eq!(said, format!("已写出 1304 户的户卡（2676 人，652 页 A4）：{out}\n"));
    let first = std::fs::read_to_string(out).unwrap();
    assert!(first.starts_with("<!doctype html>\n<html lang=\"zh-CN\">"));
    let cards = crate::cards::read_cards(&first);
    assert_eq!(cards.len(), 1304);

    // The codes are kept: the same household's card, again and in English, has the same.
    let one = cards[7].household_id.to_string();
    let args = ["--lang", "en", "cards", "--db", &db.url, "--out", out, "--household", &one];
    let (ok, said, _) = muster(None, &args).await;
    assert!(ok);
    let n = cards[7].residents.len();
    assert_eq!(said, format!("wrote the cards of 1 households ({n} residents, 1 A4 pages) to {out}\n"));
    let again = std::fs::read_to_string(out).unwrap();
    let again = crate::cards::read_cards(&again)[0].decode();
    assert_eq!((again.household_id, &again.household_code), (cards[7].household_id, &cards[7].decode().household_code));

    let (ok, said, err) = muster(None, &["cards", "--db", &db.url, "--out", out, "--household", "999999"]).await;
    assert_eq!((ok, said.as_str(), err.as_str()), (false, "", "muster: 花名册里没有编号为 999999 的户\n"));
}

#[tokio::test]
async fn report_writes_the_file_it_names_and_refuses_an_unknown_action_or_format_in_chinese() {
    let app = crate::helpers::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("复盘.html");
    let action = app.action_id.to_string();
    let (ok, stdout, stderr) =
        muster(None, &["report", &action, "--db", &app.db_url, "--out", out.to_str().unwrap()]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("复盘报告已写入") && stdout.contains("复盘.html"), "{stdout}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("时间线") && !html.contains("<script"));
    let (ok, _, stderr) = muster(None, &["report", "9999", "--db", &app.db_url]).await;
    assert!(!ok && stderr.contains("没有编号为 9999 的行动"), "{stderr}");
    let (ok, _, stderr) = muster(None, &["report", &action, "--db", &app.db_url, "--format", "pdf"]).await;
    assert!(!ok && stderr.contains("不认识的格式「pdf」"), "{stderr}");
    let (ok, _, stderr) = muster(None, &["report", &action, "--db", &app.db_url, "--compare", &action]).await;
    assert!(!ok && stderr.contains("不能拿来对比"), "{stderr}");
}
