//! Household cards: the QR codes printed on a card decode (with `rqrr`, from the SVG as
//! printed) to codes that resolve to that card's household; a reissued card's old codes
//! answer `410 code_reissued` and its new ones resolve; malformed and unknown codes are
//! refused in Chinese; who may resolve a code.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use std::collections::HashSet;

/// One card of a printed document, as read back from its HTML, its QR codes decoded.
#[derive(Debug)]
pub struct PrintedCard {
    pub household_id: i64,
    /// The household number as printed.
    pub number: String,
    /// What the household's big QR code decodes to.
    pub household_code: String,
    /// Each resident's id and what their small QR code decodes to.
    pub residents: Vec<(i64, String)>,
}

/// One card of a printed document with its QR codes as printed (SVG), not yet decoded:
/// a debug build's decoder takes about 12 ms a code, a minute for a village's 3,980.
#[derive(Debug)]
pub struct CardSvg<'a> {
    pub household_id: i64,
    pub number: String,
    pub household_qr: &'a str,
    pub residents: Vec<(i64, &'a str)>,
}

impl CardSvg<'_> {
    pub fn decode(&self) -> PrintedCard {
        PrintedCard {
            household_id: self.household_id,
            number: self.number.clone(),
            household_code: decode_svg(self.household_qr),
            residents: self.residents.iter().map(|(id, svg)| (*id, decode_svg(svg))).collect(),
        }
    }
}

/// Every card of a document.
pub fn read_cards(html: &str) -> Vec<CardSvg<'_>> {
    html.split("<article class=\"card")
        .skip(1)
        .map(|card| {
            let household_id = attribute(card, "data-household-id").parse().unwrap();
            let number = between(card, "<b>", "</b>").to_owned();
            let (household_part, residents_part) = card.split_once("<ol class=\"residents\">").unwrap();
            let household_qr = between(household_part, "<svg", "</svg>");
            let residents = residents_part
                .split("<li data-resident-id=\"")
                .skip(1)
                .map(|li| (between(li, "", "\"").parse().unwrap(), between(li, "<svg", "</svg>")))
                .collect();
            CardSvg { household_id, number, household_qr, residents }
        })
        .collect()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = text[from..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    &text[from..from + len]
}

fn attribute<'a>(text: &'a str, name: &str) -> &'a str {
    between(text, &format!("{name}=\""), "\"")
}

/// Draws a QR code's SVG (the `qrcode` crate's: a `viewBox` and one path of rectangles,
/// `M{x} {y}h{w}v{h}H{x}V{y}`) at 2 pixels a module and decodes it.
fn decode_svg(svg: &str) -> String {
    const SCALE: usize = 2;
    let view: Vec<usize> = attribute(svg, "viewBox").split(' ').map(|n| n.parse().unwrap()).collect();
    let (w, h) = (view[2] * SCALE, view[3] * SCALE);
    let mut dark = vec![false; w * h];
    let path = attribute(svg, " d");
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [x, y, rw, rh, ..] = numbers[..] else { panic!("a rectangle: {rect}") };
        for py in y * SCALE..(y + rh) * SCALE {
            for px in x * SCALE..(x + rw) * SCALE {
                dark[py * w + px] = true;
            }
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if dark[y * w + x] { 0 } else { 255 });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the SVG");
    grids[0].decode().expect("the QR code decodes").1
}

impl TestApp {
    /// `GET path` as `role`: status and body text.
    async fn get_text(&self, path: &str, role: Role) -> (u16, String, String) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(self.token(role)).send().await.unwrap();
        let status = r.status().as_u16();
        let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, kind, r.text().await.unwrap())
    }

    async fn resolve(&self, code: &str, role: Role) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}/api/codes/{code}", self.base))
            .bearer_auth(self.token(role))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn reissue(&self, household: i64, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/cards/{household}/reissue", self.base))
            .bearer_auth(self.token(Role::Admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The one card of a household, printed as the admin page prints it after a reissue.
    async fn card_of(&self, household: i64) -> PrintedCard {
        let (status, _, html) = self.get_text(&format!("/api/cards?household={household}"), Role::Admin).await;
        assert_eq!(status, 200, "{html}");
        let cards = read_cards(&html);
        assert_eq!(cards.len(), 1);
        cards[0].decode()
    }
}

/// The residents of a household on the roster, in roster order.
fn residents_of(app: &TestApp, household: i64) -> Vec<i64> {
    app.roster.residents().iter().filter(|r| r.household_id == household).map(|r| r.id).collect()
}

#[tokio::test]
async fn every_printed_card_decodes_to_codes_that_resolve_to_its_household() {
    let app = spawn_app().await;
    let (status, kind, html) = app.get_text("/api/cards", Role::Admin).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "text/html; charset=utf-8");
    assert!(html.starts_with("<!doctype html>\n<html lang=\"zh-CN\">"), "{}", &html[..80]);
    assert!(html.contains("党群连心卡") && html.contains("@page { size: A4 portrait"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained");
    assert_eq!(html.matches("<section class=\"sheet\">").count(), 1_304_usize.div_ceil(2), "two cards a page");
    let id_numbers: HashSet<&str> = app.roster.residents().iter().map(|r| r.id_number.expose()).collect();
    let runs = html.split(|c: char| !c.is_ascii_digit() && c != 'X').filter(|run| run.len() >= 18);
    assert!(runs.clone().all(|run| id_numbers.iter().all(|id| !run.contains(id))), "an ID number printed whole");

    let cards = read_cards(&html);
    assert_eq!(cards.len(), 1_304);
    for card in &cards {
        let household = app.roster.household(card.household_id).unwrap();
        assert_eq!(card.number, household.number);
        let ids: Vec<i64> = card.residents.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, residents_of(&app, card.household_id), "every resident on their household's card");
    }

    // Every 25th card, its QR codes decoded as printed, through the API to its household.
    let mut codes = HashSet::new();
    for card in cards.iter().step_by(25).map(CardSvg::decode) {
        assert!(codes.insert(card.household_code.clone()), "every code is its own");
        let (status, found) = app.resolve(&card.household_code, Role::Operator).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["kind"], "household");
        assert_eq!(found["household"]["id"], card.household_id);
        assert_eq!(found["household"]["number"], card.number);
        assert!(found.get("resident_id").is_none());
        let listed: Vec<i64> =
            found["household"]["residents"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(listed, residents_of(&app, card.household_id));
        for r in found["household"]["residents"].as_array().unwrap() {
            assert!(r["id_number"].as_str().unwrap().contains("**********"), "masked: {r}");
        }
        for (resident, code) in &card.residents {
            assert!(codes.insert(code.clone()), "every code is its own");
            let (status, found) = app.resolve(code, Role::Operator).await;
            assert_eq!(status, 200);
            assert_eq!((found["kind"].as_str(), found["resident_id"].as_i64()), (Some("resident"), Some(*resident)));
            assert_eq!(found["household"]["id"], card.household_id);
        }
    }
    assert!(codes.len() > 100, "{}", codes.len());

    // Printed again, the cards carry the same codes: they were issued once.
    let (_, _, again) = app.get_text("/api/cards", Role::Chief).await;
    let again = read_cards(&again);
    assert!(
        cards.iter().zip(&again).all(|(a, b)| a.household_id == b.household_id && a.household_qr == b.household_qr)
    );
}

#[tokio::test]
async fn a_reissued_card_answers_code_reissued_and_the_new_card_resolves() {
    let app = spawn_app().await;
    let household = app.roster.households().iter().find(|h| residents_of(&app, h.id).len() >= 2).unwrap().id;
    let old = app.card_of(household).await;
    let (resident, old_resident_code) = old.residents[0].clone();

    let (status, answer) = app.reissue(household, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let members = residents_of(&app, household).len();
    assert_eq!(answer, json!({ "household_id": household, "replaced": 1 + members, "issued": 1 + members }));

    for code in [&old.household_code, &old_resident_code] {
        let (status, problem) = app.resolve(code, Role::Operator).await;
        assert_eq!(status, 410);
        assert_eq!(problem["code"], "code_reissued");
        let message = problem["message"].as_str().unwrap();
        assert!(message.starts_with("这张卡已经补办过，旧卡作废"), "{message}");
        assert!(message.contains("新卡") && message.contains("按姓名查找"), "{message}");
        assert!(problem.get("household").is_none() && !problem.to_string().contains(&old.number), "names nobody");
    }
    let new = app.card_of(household).await;
    assert_ne!(new.household_code, old.household_code);
    let (status, found) = app.resolve(&new.household_code, Role::Operator).await;
    assert_eq!((status, found["household"]["id"].as_i64()), (200, Some(household)));

    // One resident's code alone: the household's card keeps its code.
    let (status, answer) = app.reissue(household, json!({ "resident_id": resident })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["replaced"].as_i64(), answer["issued"].as_i64()), (Some(1), Some(1)));
    let third = app.card_of(household).await;
    assert_eq!(third.household_code, new.household_code);
    assert_ne!(third.residents[0].1, new.residents[0].1);
    assert_eq!(third.residents[1..], new.residents[1..]);
    assert_eq!(app.resolve(&new.residents[0].1, Role::Medic).await.0, 410);
    assert_eq!(app.resolve(&third.residents[0].1, Role::Medic).await.0, 200);

    // Both reissues are in the audit log, worded on read, naming the household by number.
    let audit = app.get_json("/api/audit", &app.token(Role::Admin)).await;
    let reissues: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["what"] == "reissue_card").collect();
    assert_eq!(reissues.len(), 2, "{audit}");
    let number = &app.roster.household(household).unwrap().number;
    assert_eq!(reissues[1]["detail"], format!("户 {number}（#{household}）：整户换新卡，{} 个旧码作废", 1 + members));
    assert_eq!(reissues[0]["detail"], format!("户 {number}（#{household}）：村民 #{resident} 换新码，1 个旧码作废"));
}

#[tokio::test]
async fn a_reissue_of_no_household_or_of_a_resident_elsewhere_changes_nothing() {
    let app = spawn_app().await;
    let (status, problem) = app.reissue(999_999, json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    assert_eq!(problem["message"], "没有编号为 999999 的户");
    let [a, b, ..] = app.roster.households() else { panic!() };
    let card = app.card_of(a.id).await;
    // The admin page finds a household by the number the village knows it by.
    let (status, _, html) = app.get_text(&format!("/api/cards?number={}", a.number), Role::Chief).await;
    assert_eq!(status, 200);
    assert_eq!(read_cards(&html)[0].decode().household_code, card.household_code);
    let (status, _, problem) = app.get_text("/api/cards?number=NOPE", Role::Chief).await;
    assert_eq!(status, 404);
    assert!(problem.contains("没有编号为 NOPE 的户"), "{problem}");
    let elsewhere = residents_of(&app, b.id)[0];
    let (status, problem) = app.reissue(a.id, json!({ "resident_id": elsewhere })).await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (400, Some("invalid_field"), Some("resident_id"))
    );
    assert_eq!(problem["message"], format!("村民 {elsewhere} 不在户 {} 里", a.id));
    let (status, problem) = app.reissue(a.id, json!({ "resident": 1 })).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_field")));
    assert_eq!(app.resolve(&card.household_code, Role::Operator).await.0, 200, "the card still holds");
}

#[tokio::test]
async fn malformed_and_unknown_codes_are_refused_clearly_in_chinese() {
    let app = spawn_app().await;
    let id_number = app.roster.residents()[0].id_number.expose().to_owned();
    let cases = [
        ("ABCD-EFGH", 400, "malformed_code", "这不是户卡上的码：户卡码是 16 位字母和数字"),
        ("ABCDEFGHJKMNPQRU", 400, "malformed_code", "这不是户卡上的码：户卡码只有数字和大写字母"),
        (id_number.as_str(), 400, "malformed_code", "这不是户卡上的码"),
        ("%E6%88%B7%E5%8D%A1", 400, "malformed_code", "这不是户卡上的码"),
        ("0000-0000-0000-0000", 404, "unknown_code", "没有这张卡"),
    ];
    for (code, status, expected, words) in cases {
        let r = app
            .client
            .get(format!("{}/api/codes/{code}", app.base))
            .bearer_auth(app.token(Role::Operator))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{code}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["code"], expected, "{code}: {problem}");
        assert!(problem["message"].as_str().unwrap().starts_with(words), "{code}: {problem}");
        assert!(!problem.to_string().contains(&id_number), "the ID number is not echoed: {problem}");
    }
    let english = app
        .client
        .get(format!("{}/api/codes/0000000000000000", app.base))
        .bearer_auth(app.token(Role::Operator))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let problem: Value = english.json().await.unwrap();
    assert!(problem["message"].as_str().unwrap().starts_with("no such card"), "{problem}");
}

#[tokio::test]
async fn an_operator_resolves_any_card_a_viewer_none_and_a_grid_member_only_their_own() {
    let app = spawn_app().await;
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let mine = app.roster.households().iter().find(|h| member.nodes.contains(&h.node_id)).unwrap().id;
    let theirs = app.roster.households().iter().rev().find(|h| !member.nodes.contains(&h.node_id)).unwrap().id;
    let (mine, theirs) = (app.card_of(mine).await, app.card_of(theirs).await);
    assert_eq!(app.resolve(&theirs.household_code, Role::Operator).await.0, 200);
    let (status, problem) = app.resolve(&mine.household_code, Role::Viewer).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let as_member = |code: String| {
        let app = &app;
        async move {
            let url = format!("{}/api/codes/{code}", app.base);
            let r = app.client.get(url).bearer_auth(app.token_of(member.id)).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(as_member(mine.household_code.clone()).await.0, 200);
    let (status, problem) = as_member(theirs.household_code.clone()).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("out_of_your_scope")));
    // Only the admin and the chief print or reissue cards.
    for role in [Role::GridHead, Role::GridMember, Role::Operator, Role::Medic, Role::Viewer] {
        let (status, _, _) = app.get_text("/api/cards", role).await;
        assert_eq!(status, 403, "{role:?}");
    }
}
