//! The report's tables, in one place: the HTML page shows them, the XLSX carries each as
//! its own sheet (for the people who live in Excel), the CSV has them one after another.

use super::{AfterAction, Part};
use crate::messages::Lang;
use crate::messages::review::{ChainStep, chain_detail, word};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use time::OffsetDateTime;

/// Local time for the people who read the report (Asia/Shanghai).
pub const LOCAL: time::UtcOffset = time::macros::offset!(+8);

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Shown to one decimal.
    Num(f64),
    Time(OffsetDateTime),
    /// No data: a dash, never a zero or NaN.
    None,
}

impl Cell {
    fn time(t: Option<OffsetDateTime>) -> Cell {
        t.map_or(Cell::None, Cell::Time)
    }

    pub fn num(n: Option<f64>) -> Cell {
        n.filter(|n| n.is_finite()).map_or(Cell::None, Cell::Num)
    }

    fn text(s: Option<&str>) -> Cell {
        s.filter(|s| !s.is_empty()).map_or(Cell::None, |s| Cell::Text(s.to_owned()))
    }

    /// As a person reads it: local time as `MM-DD HH:MM`, numbers to one decimal, a dash.
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(n) => format!("{n:.1}"),
            Cell::Time(t) => clock(*t),
            Cell::None => "—".into(),
        }
    }
}

/// `04-23 00:45` in local time: a night spans midnight, so the day is shown.
pub fn clock(t: OffsetDateTime) -> String {
    let t = t.to_offset(LOCAL);
    format!("{:02}-{:02} {:02}:{:02}", u8::from(t.month()), t.day(), t.hour(), t.minute())
}

#[derive(Debug, Clone)]
pub struct Table {
    /// The sheet's name (short, for an XLSX tab) and its title.
    pub key: &'static str,
    pub title: String,
    pub heads: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn heads(keys: &[&str], lang: Lang) -> Vec<String> {
    keys.iter().map(|k| word(k, lang).to_owned()).collect()
}

fn chase_word(chase: Option<crate::action::Chase>, lang: Lang) -> String {
    let key = match chase {
        None => "chase.none".to_owned(),
        Some(c) => format!(
            "chase.{}",
            serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        ),
    };
    word(&key, lang).to_owned()
}

const PART_HEADS: [&str; 16] = [
    "target",
    "accounted",
    "missing_n",
    "at_90",
    "at_100",
    "chased",
    "came",
    "home_visit",
    "away",
    "exempt_other",
    "refused",
    "unreachable",
    "still_missing",
    "chase_median",
    "chase_max",
    "escalated",
];

fn part_cells(p: &Part) -> Vec<Cell> {
    let r = &p.resolved;
    vec![
        Cell::Int(p.target),
        Cell::Int(p.accounted),
        Cell::Int(p.missing),
        Cell::time(p.at_90),
        Cell::time(p.at_100),
        Cell::Int(p.chased),
        Cell::Int(r.came),
        Cell::Int(r.home_visit),
        Cell::Int(r.away),
        Cell::Int(r.exempt_other),
        Cell::Int(r.refused),
        Cell::Int(r.unreachable),
        Cell::Int(r.still_missing),
        Cell::num(p.chase_minutes_median),
        Cell::num(p.chase_minutes_max),
        Cell::Int(p.escalated),
    ]
}

/// Every table of the report, in the order the page shows them.
pub fn tables(r: &AfterAction, lang: Lang) -> Vec<Table> {
    let w = |k: &str| word(k, lang).to_owned();
    let mut out = Vec::new();
    out.push(Table {
        key: "timeline",
        title: w("timeline"),
        heads: heads(&["step", "clock", "minutes"], lang),
        rows: r
            .marks
            .iter()
            .map(|m| vec![Cell::Text(w(&format!("mark.{}", m.key))), Cell::time(m.at), Cell::num(m.minutes)])
            .collect(),
    });
    let t = &r.totals;
    let mut summary = vec![
        vec![Cell::Text(w("target")), Cell::Int(t.target)],
        vec![Cell::Text(w("sampled")), Cell::Int(t.sampled)],
        vec![Cell::Text(w("exempt")), Cell::Int(t.exempt)],
        vec![Cell::Text(w("accounted")), Cell::Int(t.accounted)],
        vec![Cell::Text(w("missing_n")), Cell::Int(t.missing)],
        vec![Cell::Text(w("scans")), Cell::Int(t.scans)],
        vec![Cell::Text(w("walk_ins")), Cell::Int(t.walk_ins)],
        vec![Cell::Text(w("outside")), Cell::Int(t.outside)],
        vec![Cell::Text(w("events")), Cell::Int(t.events)],
    ];
    if let Some(c) = &r.call_up {
        summary.push(vec![Cell::Text(w("called")), Cell::Int(c.called as i64)]);
        summary.push(vec![Cell::Text(w("received")), Cell::Int(c.received as i64)]);
        summary.push(vec![Cell::Text(w("cannot")), Cell::Int(c.cannot as i64)]);
        summary.push(vec![Cell::Text(w("never")), Cell::Int(c.never as i64)]);
    }
    out.push(Table { key: "summary", title: w("summary"), heads: vec![String::new(), String::new()], rows: summary });
    out.push(Table {
        key: "points",
        title: w("points"),
        heads: heads(
            &[
                "point",
                "sampled",
                "at_home",
                "walk_ins",
                "outside",
                "per_hour",
                "busiest",
                "busiest_n",
                "idle",
                "first",
                "last",
                "tubes_n",
            ],
            lang,
        ),
        rows: r
            .points
            .iter()
            .map(|p| {
                let idle = p
                    .idle_gaps
                    .iter()
                    .map(|g| format!("{} ({}′)", clock(g.from), g.minutes))
                    .collect::<Vec<_>>()
                    .join("，");
                vec![
                    Cell::Text(p.name.clone()),
                    Cell::Int(p.sampled),
                    Cell::Int(p.at_home),
                    Cell::Int(p.walk_ins),
                    Cell::Int(p.outside),
                    Cell::num(p.per_hour),
                    Cell::time(p.busiest_from),
                    if p.busiest_15 > 0 { Cell::Int(p.busiest_15) } else { Cell::None },
                    Cell::text(Some(&idle)),
                    Cell::time(p.first),
                    Cell::time(p.last),
                    Cell::Int(p.tubes as i64),
                ]
            })
            .collect(),
    });
    let mut area_heads = heads(&["area", "level", "staff"], lang);
    area_heads.extend(heads(&PART_HEADS, lang));
    out.push(Table {
        key: "areas",
        title: w("areas"),
        heads: area_heads,
        rows: r
            .areas
            .iter()
            .map(|a| {
                let indent = "　".repeat(a.depth);
                let mut row = vec![
                    Cell::Text(format!("{indent}{}", a.name)),
                    Cell::Text(a.level.clone()),
                    Cell::text(a.staff.as_deref()),
                ];
                row.extend(part_cells(&a.part));
                row
            })
            .collect(),
    });
    let mut member_heads = heads(&["member", "households"], lang);
    member_heads.extend(heads(&PART_HEADS, lang));
    member_heads.push(w("covered_by"));
    out.push(Table {
        key: "members",
        title: w("members"),
        heads: member_heads,
        rows: r
            .members
            .iter()
            .map(|m| {
                let mut row = vec![Cell::Text(m.name.clone()), Cell::Int(m.households as i64)];
                row.extend(part_cells(&m.part));
                row.push(Cell::text(Some(&m.covered_by.join("、"))));
                row
            })
            .collect(),
    });
    out.push(Table {
        key: "chain",
        title: w("chain"),
        heads: heads(&["clock", "what", "by", "detail", "from_chase", "in_time"], lang),
        rows: r
            .chain
            .iter()
            .map(|c| {
                vec![
                    Cell::time(Some(c.at)),
                    Cell::Text(w(&format!("chain.{}", c.what))),
                    Cell::text(c.by.as_deref()),
                    Cell::Text(chain_detail(
                        &ChainStep {
                            what: c.what,
                            from: &c.from,
                            households: c.households,
                            to: c.to.as_deref(),
                            area: c.area.as_deref(),
                            missing: c.missing,
                            note: &c.note,
                        },
                        lang,
                    )),
                    Cell::num(c.minutes),
                    match c.in_time {
                        Some(true) => Cell::Text(w("yes_in_time")),
                        Some(false) => Cell::Text(w("late_report")),
                        None => Cell::None,
                    },
                ]
            })
            .collect(),
    });
    out.push(Table {
        key: "missing",
        title: w("missing"),
        heads: heads(&["name", "id_number", "household", "grid", "staff", "chase", "chase_at"], lang),
        rows: r
            .missing
            .iter()
            .map(|m| {
                vec![
                    Cell::Text(m.name.clone()),
                    Cell::Text(m.id_number.clone()),
                    Cell::Text(m.household.clone()),
                    Cell::Text(m.grid.clone()),
                    Cell::text(m.staff.as_deref()),
                    Cell::Text(chase_word(m.chase, lang)),
                    Cell::time(m.chase_at),
                ]
            })
            .collect(),
    });
    let o = &r.offline;
    out.push(Table {
        key: "offline",
        title: w("offline"),
        heads: heads(&["events", "late", "late_median", "late_max"], lang),
        rows: vec![vec![
            Cell::Int(o.events),
            Cell::Int(o.late),
            o.late_seconds_median.map_or(Cell::None, Cell::Int),
            o.late_seconds_max.map_or(Cell::None, Cell::Int),
        ]],
    });
    let tb = &r.tubes;
    let sizes = tb.by_size.iter().map(|(s, n)| format!("{s}合1 × {n}")).collect::<Vec<_>>().join("，");
    let mut tube_rows = vec![vec![
        Cell::Int(tb.tubes as i64),
        Cell::text(Some(&sizes)),
        Cell::Int(tb.negative as i64),
        Cell::Int(tb.positive as i64),
        Cell::Int(tb.pending as i64),
        Cell::None,
    ]];
    for p in &tb.positives {
        tube_rows.push(vec![
            Cell::Text(format!("{}（{}）", p.code, p.point)),
            Cell::Text(format!("{}合1", p.size)),
            Cell::None,
            Cell::Int(p.people as i64),
            Cell::None,
            Cell::text(Some(&p.households.join("、"))),
        ]);
    }
    out.push(Table {
        key: "tubes",
        title: w("tubes"),
        heads: heads(&["tubes_n", "size", "negative", "positive", "pending", "household"], lang),
        rows: tube_rows,
    });
    for round in &r.compare {
        out.push(Table {
            key: "compare",
            title: format!("{}：{}", w("compare"), round.name),
            heads: heads(&["area", "then", "now", "faster_by"], lang),
            rows: round
                .areas
                .iter()
                .map(|a| {
                    vec![
                        Cell::Text(a.name.clone()),
                        Cell::num(a.then_minutes),
                        Cell::num(a.now_minutes),
                        Cell::num(a.faster_by),
                    ]
                })
                .collect(),
        });
    }
    out
}

/// The report as a workbook: each table its own sheet, numbers as numbers.
pub fn xlsx(r: &AfterAction, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut used = std::collections::HashSet::new();
    for (n, table) in tables(r, lang).into_iter().enumerate() {
        let sheet = book.add_worksheet();
        // Sheet names are unique and at most 31 characters.
        let mut name: String = table.title.chars().take(28).collect();
        if !used.insert(name.clone()) {
            name = format!("{}{n}", name.chars().take(26).collect::<String>());
            used.insert(name.clone());
        }
        sheet.set_name(&name)?;
        for (c, head) in table.heads.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, head, &bold)?;
        }
        for (i, row) in table.rows.iter().enumerate() {
            let at = i as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Int(v) => sheet.write_number(at, c, *v as f64)?,
                    Cell::Num(v) => sheet.write_number(at, c, (*v * 10.0).round() / 10.0)?,
                    other => sheet.write_string(at, c, other.shown())?,
                };
            }
        }
    }
    book.save_to_buffer()
}

/// The report as one CSV: each table under its title, a blank line between them; UTF-8
/// with a byte-order mark, so Excel reads the Chinese.
pub fn csv(r: &AfterAction, lang: Lang) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(b"\xEF\xBB\xBF".to_vec());
    for table in tables(r, lang) {
        out.write_record([&table.title])?;
        out.write_record(&table.heads)?;
        for row in &table.rows {
            out.write_record(row.iter().map(Cell::shown))?;
        }
        out.write_record([""])?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
