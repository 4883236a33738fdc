//! The print document: one self-contained A4 HTML file of household cards. Inline SVG QR
//! codes, inline print CSS, no script and nothing fetched, so it prints the same from a
//! USB stick on the township's computer as from the admin page.
//!
//! A card is half an A4 page (A5, landscape), two to a page with a cut line between;
//! a household too big for half a page gets a page of its own. No card is ever split
//! across pages. On the card: the village, the household number, its address and grid,
//! the grid member's name and phone (residents call them), the household's QR code big
//! and each resident's small, with their name and masked ID number. The words are
//! Chinese: the residents read them ([`crate::messages::cards`]).

use super::{Code, CodeBook, codes_for, residents_by_household, responsible_for};
use crate::messages::cards as say;
use crate::messages::{Lang, role_name};
use crate::roster::{HouseholdId, Roster};
use crate::store::{Store, StoreError};
use qrcode::{EcLevel, QrCode};
use std::fmt::Write;

/// How many residents fit a half-page card in one, two and three columns; a household
/// with more gets a whole page, three columns of about twenty rows (a household of more
/// than sixty, a care home, would run off its page).
const ONE_COLUMN: usize = 6;
const TWO_COLUMNS: usize = 12;
const THREE_COLUMNS: usize = 24;

/// A rendered document and what is in it.
#[derive(Debug, Clone)]
pub struct Document {
    pub html: String,
    pub households: usize,
    pub residents: usize,
    /// A4 pages.
    pub pages: usize,
}

/// The households whose node `covered` accepts (by node index), in the order cards are
/// handed out: grid by grid down the area tree, then by household number.
pub fn households_to_print(roster: &Roster, covered: impl Fn(usize) -> bool) -> Vec<HouseholdId> {
    let mut found: Vec<(Vec<String>, String, HouseholdId)> = roster
        .households()
        .iter()
        .filter_map(|h| {
            let node = roster.node_idx(h.node_id)?;
            covered(node).then(|| {
                let path = roster.ancestors(node).iter().map(|&a| roster.nodes()[a].name.clone()).collect();
                (path, natural_key(&h.number), h.id)
            })
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, id)| id).collect()
}

/// A household number sorted as people count: `2` before `10`.
fn natural_key(number: &str) -> String {
    let digits = number.chars().take_while(char::is_ascii_digit).count();
    format!("{digits:04}{number}")
}

/// The cards of `households` (issuing codes for those that have none), as one document.
pub async fn render(
    store: &dyn Store,
    roster: &Roster,
    households: &[HouseholdId],
    now: time::OffsetDateTime,
) -> Result<Document, StoreError> {
    let book = codes_for(store, roster, households, now).await?;
    Ok(document(roster, &book, households))
}

/// The document for `households`, whose codes are all in `book`.
pub fn document(roster: &Roster, book: &CodeBook, households: &[HouseholdId]) -> Document {
    let by_household = residents_by_household(roster);
    let mut cards: Vec<(bool, String)> = Vec::with_capacity(households.len());
    let mut residents = 0;
    for &h in households {
        let Some(household) = roster.household(h) else { continue };
        let Some(code) = book.households.get(&h) else { continue };
        let members: Vec<(&crate::roster::Resident, &Code)> = by_household
            .get(&h)
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let r = &roster.residents()[i];
                Some((r, book.residents.get(&r.id)?))
            })
            .collect();
        residents += members.len();
        let full = members.len() > THREE_COLUMNS;
        cards.push((full, card(roster, household, code, &members)));
    }
    // Half-page cards two to a page, in order; a whole-page card on a page of its own
    // (the half-page card before it, if alone, keeps its page with an empty half).
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut open_half = false;
    for (full, html) in cards.iter() {
        if *full {
            pages.push(vec![html.clone()]);
            open_half = false;
        } else if open_half {
            pages.last_mut().expect("an open page").push(html.clone());
            open_half = false;
        } else {
            pages.push(vec![html.clone()]);
            open_half = true;
        }
    }
    let mut html = String::with_capacity(4096 + cards.iter().map(|(_, c)| c.len()).sum::<usize>());
    let (n, m, p) = (cards.len(), residents, pages.len());
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header class=\"screen-only\"><h1>{title}</h1><p>{summary}</p><p>{how}</p></header>\n",
        title = escape(say::DOCUMENT_TITLE),
        summary = escape(&say::summary(n, m, p)),
        how = escape(say::HOW_TO_PRINT),
    );
    if cards.is_empty() {
        let _ = writeln!(html, "<p class=\"empty\">{}</p>", escape(say::NO_HOUSEHOLDS));
    }
    for page in &pages {
        html.push_str("<section class=\"sheet\">\n");
        for (i, card) in page.iter().enumerate() {
            if i > 0 {
                let _ = writeln!(html, "<div class=\"cut\" aria-hidden=\"true\"><span>✂ {}</span></div>", say::CUT);
            }
            html.push_str(card);
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body>\n</html>\n");
    Document { html, households: n, residents: m, pages: p }
}

/// One card's markup.
fn card(
    roster: &Roster,
    household: &crate::roster::Household,
    code: &Code,
    members: &[(&crate::roster::Resident, &Code)],
) -> String {
    let node = roster.node_idx(household.node_id).expect("a household's grid is in its roster");
    let names: Vec<&str> = roster.ancestors(node).iter().map(|&a| roster.nodes()[a].name.as_str()).collect();
    let (village, grid) = match names.as_slice() {
        [only] => (*only, only.to_string()),
        [top, rest @ ..] => (*top, rest.join(" › ")),
        [] => ("", String::new()),
    };
    let layout = match members.len() {
        n if n <= ONE_COLUMN => "cols-1",
        n if n <= TWO_COLUMNS => "cols-2",
        n if n <= THREE_COLUMNS => "cols-3",
        _ => "cols-3 full",
    };
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        "<article class=\"card {layout}\" data-household-id=\"{id}\">\n\
         <div class=\"top\"><span class=\"village\">{village} · {title}</span>\
         <span class=\"number\">{number_label} <b>{number}</b></span></div>\n\
         <div class=\"body\">\n<div class=\"left\">\n\
         <figure class=\"household-qr\" data-kind=\"household\">{qr}<figcaption>{code_label}<br>\
         <code>{code}</code></figcaption></figure>\n<dl>\n",
        id = household.id,
        village = escape(village),
        title = escape(say::CARD_TITLE),
        number_label = escape(say::NUMBER),
        number = escape(&household.number),
        qr = qr_svg(code),
        code_label = escape(say::HOUSEHOLD_CODE),
        code = code.grouped(),
    );
    let mut field = |label: &str, value: &str, class: &str| {
        let _ = writeln!(s, "<dt>{}</dt><dd class=\"{class}\">{}</dd>", escape(label), escape(value));
    };
    field(say::ADDRESS, &household.address, "address");
    field(say::GRID, &grid, "grid");
    match responsible_for(roster, household.id).and_then(|id| roster.staff_member(id)) {
        Some(staff) => {
            let title = if staff.role == crate::roster::Role::GridMember {
                say::GRID_MEMBER.to_owned()
            } else {
                role_name(staff.role, Lang::Zh).to_owned()
            };
            field(&title, &staff.name, "staff");
            let phone = staff.phone.as_ref().map_or_else(|| say::NO_PHONE.to_owned(), |p| spaced(p.expose()));
            field(say::PHONE, &phone, "phone");
        }
        None => field(say::GRID_MEMBER, say::NOBODY, "staff"),
    }
    let _ = write!(
        s,
        "</dl>\n</div>\n<div class=\"right\">\n<h2>{members_label}</h2>\n<ol class=\"residents\">\n",
        members_label = escape(&say::members(members.len())),
    );
    for (r, code) in members {
        let _ = writeln!(
            s,
            "<li data-resident-id=\"{id}\"><figure class=\"resident-qr\" data-kind=\"resident\">{qr}</figure>\
             <div><span class=\"name\">{name}</span><span class=\"id-number\">{masked}</span>\
             <code>{code}</code></div></li>",
            id = r.id,
            qr = qr_svg(code),
            name = escape(&r.name),
            masked = r.id_number.masked(),
            code = code.grouped(),
        );
    }
    let _ = write!(s, "</ol>\n</div>\n</div>\n<p class=\"foot\">{}</p>\n</article>\n", escape(say::FOOT));
    s
}

/// A code's QR code as inline SVG: the canonical text (capitals and digits: the QR
/// code's compact alphanumeric mode, version 1 at level M), one unit per module with the
/// four-module quiet zone, sized by the CSS.
pub fn qr_svg(code: &Code) -> String {
    let qr = QrCode::with_error_correction_level(code.as_str(), EcLevel::M)
        .expect("16 alphanumeric characters fit a QR code");
    let svg = qr.render::<qrcode::render::svg::Color>().quiet_zone(true).module_dimensions(1, 1).build();
    // The renderer writes a standalone file; inline in HTML, its XML declaration and
    // namespace have no place (and the document names no address at all).
    let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
    svg.replacen(
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" "#,
        r#"<svg class="qr" aria-hidden="true" "#,
        1,
    )
}

/// `138 0013 8000`: a mobile number as people read it out.
fn spaced(digits: &str) -> String {
    if digits.len() == 11 && digits.is_ascii() {
        format!("{} {} {}", &digits[..3], &digits[3..7], &digits[7..])
    } else {
        digits.to_owned()
    }
}

/// Text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The print CSS. Sizes in millimetres: a card is exactly half an A4 page, and what is
/// inside it is sized so that the most residents of its layout still fit.
const STYLE: &str = r#"
@page { size: A4 portrait; margin: 0; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #d9d9d9; color: #111;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; }
header.screen-only { max-width: 210mm; margin: 0 auto; padding: 6mm 4mm 2mm; }
header.screen-only h1 { font-size: 20px; margin: 0 0 4px; }
header.screen-only p { margin: 2px 0; font-size: 14px; }
.empty { text-align: center; font-size: 16px; }
.sheet { width: 210mm; height: 297mm; margin: 6mm auto; background: #fff; overflow: hidden;
  display: flex; flex-direction: column; box-shadow: 0 1px 6px rgba(0,0,0,.3); }
.card { height: 148.5mm; flex: none; padding: 7mm 8mm 5mm; display: flex; flex-direction: column; overflow: hidden; }
.card.full { height: 297mm; }
.cut { height: 0; flex: none; border-top: 0.3mm dashed #777; position: relative; }
.cut span { position: absolute; left: 8mm; top: -2.2mm; background: #fff; padding: 0 2mm; font-size: 2.8mm; color: #555; line-height: 4mm; }
.top { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 0.6mm solid #b71c1c;
  padding-bottom: 1.5mm; margin-bottom: 3mm; color: #b71c1c; }
.village { font-size: 5.2mm; font-weight: 700; letter-spacing: 0.3mm; }
.number { font-size: 4mm; color: #111; }
.number b { font-size: 6.5mm; }
.body { flex: 1; display: flex; gap: 5mm; min-height: 0; }
.left { width: 62mm; flex: none; display: flex; flex-direction: column; }
.household-qr { margin: 0; text-align: center; }
.household-qr svg { width: 50mm; height: 50mm; display: block; margin: 0 auto; }
figcaption { font-size: 3mm; color: #444; margin-top: 0.5mm; }
figcaption code { font-size: 3.4mm; color: #111; letter-spacing: 0.2mm; }
code { font-family: "DejaVu Sans Mono", "Noto Sans Mono", Menlo, Consolas, monospace; }
dl { margin: 2.5mm 0 0; display: grid; grid-template-columns: 14mm 1fr; row-gap: 1.2mm; font-size: 3.5mm; }
dt { color: #555; }
dd { margin: 0; overflow-wrap: anywhere; }
dd.staff, dd.phone { font-weight: 700; font-size: 4.2mm; }
.right { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.right h2 { font-size: 3.8mm; margin: 0 0 1.5mm; color: #b71c1c; }
.residents { list-style: none; margin: 0; padding: 0; display: grid; column-gap: 3mm; row-gap: 1.2mm; align-content: start; }
.residents li { display: flex; align-items: center; gap: 2.5mm; min-width: 0; break-inside: avoid; }
.resident-qr { margin: 0; flex: none; }
.resident-qr svg { display: block; }
.residents li div { display: flex; flex-direction: column; min-width: 0; line-height: 1.25; }
.name { font-weight: 700; overflow-wrap: anywhere; }
.id-number, .residents code { color: #333; white-space: nowrap; }
.cols-1 .residents { grid-template-columns: 1fr; }
.cols-1 .resident-qr svg { width: 16.5mm; height: 16.5mm; }
.cols-1 .name { font-size: 4.4mm; } .cols-1 .id-number { font-size: 3.6mm; } .cols-1 .residents code { font-size: 3mm; }
.cols-2 .residents { grid-template-columns: 1fr 1fr; }
.cols-2 .resident-qr svg { width: 15mm; height: 15mm; }
.cols-2 .name { font-size: 3.8mm; } .cols-2 .id-number { font-size: 2.9mm; } .cols-2 .residents code { font-size: 2.4mm; }
.cols-3 .residents { grid-template-columns: 1fr 1fr 1fr; row-gap: 0.8mm; column-gap: 2mm; }
.cols-3 .residents li { gap: 1.2mm; }
.cols-3 .resident-qr svg { width: 11.5mm; height: 11.5mm; }
.cols-3 .name { font-size: 3mm; } .cols-3 .id-number { font-size: 2.2mm; } .cols-3 .residents code { font-size: 1.9mm; }
.foot { margin: 2mm 0 0; font-size: 3mm; color: #444; border-top: 0.2mm solid #ccc; padding-top: 1.5mm; }
@media print {
  body { background: #fff; }
  .screen-only { display: none; }
  .sheet { margin: 0; box-shadow: none; break-after: page; page-break-after: always; }
  .sheet:last-of-type { break-after: auto; page-break-after: auto; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_roster_cannot_open_markup() {
        assert_eq!(escape("<b>王\"&'</b>"), "&lt;b&gt;王&quot;&amp;&#39;&lt;/b&gt;");
    }

    #[test]
    fn household_numbers_sort_as_people_count() {
        let mut numbers = vec!["10", "2", "1-3", "A7"];
        numbers.sort_by_key(|n| natural_key(n));
        assert_eq!(numbers, ["A7", "1-3", "2", "10"]);
    }

    #[test]
    fn a_qr_code_is_inline_svg_without_an_xml_declaration() {
        let svg = qr_svg(&Code::random());
        assert!(svg.starts_with("<svg class=\"qr\""), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 29 29\""), "version 1 with its quiet zone: {svg}");
    }
}
