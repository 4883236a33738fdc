//! What `muster import` says: the import report and its problems, the questions it asks
//! and how it ends.

use super::Lang;
use super::pick;
use crate::roster::import::{Counts, Problem, Report, export};

/// How many statuses read from notes the text report lists (the JSON report lists all).
const SHOWN_NOTICES: usize = 20;

/// One problem on one line: 「人员」表，第 12 行「身份证号」列 [1101…0021]：校验位不对…。请对照身份证核对…
pub fn problem_line(p: &Problem, lang: Lang) -> String {
    let (sheet, row, column) = (&p.sheet, p.row, &p.column);
    let (problem, fix) = (p.problem.get(lang), p.fix.get(lang));
    let value = if p.value.is_empty() { String::new() } else { format!(" [{}]", p.value) };
    let at = match (lang, sheet.is_empty(), column.is_empty()) {
        (Lang::Zh, true, true) => format!("第 {row} 行"),
        (Lang::Zh, true, false) => format!("第 {row} 行「{column}」列"),
        (Lang::Zh, false, true) => format!("“{sheet}”表，第 {row} 行"),
        (Lang::Zh, false, false) => format!("“{sheet}”表，第 {row} 行「{column}」列"),
        (Lang::En, true, _) => format!("row {row}, {column}"),
        (Lang::En, false, _) => format!("{sheet}, row {row}, {column}"),
    };
    pick!(lang, "{at}{value}：{problem}。{fix}", "{at}{value}: {problem} — {fix}")
}

/// "… problem(s); nothing was imported" after the problems, naming the file.
pub fn problems_total(file: &str, n: usize, lang: Lang) -> String {
    pick!(lang, "{file}：共 {n} 个问题，什么都没有导入", "{file}: {n} problem(s); nothing was imported")
}

fn counts(c: &Counts, lang: Lang) -> String {
    let Counts { added, changed, removed, unchanged } = *c;
    pick!(
        lang,
        "新增 {added}，修改 {changed}，删除 {removed}，未变 {unchanged}",
        "{added} added, {changed} changed, {removed} removed, {unchanged} unchanged"
    )
}

/// The whole report, one line per kind of row.
pub fn report_text(r: &Report, lang: Lang) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    let label = |zh: &str, en: &str| -> String {
        match lang {
            Lang::Zh => format!("{zh}："),
            Lang::En => format!("{:<12}", format!("{en}:")),
        }
    };
    line(format!("{}{}", label("村民", "residents"), counts(&r.residents, lang)));
    if r.kept_for_history > 0 {
        let n = r.kept_for_history;
        line(pick!(
            lang,
            "      删除的村民中有 {n} 人保留并标为已删除：行动记录里有他们",
            "            {n} of the removed are kept, marked removed: actions record them"
        ));
    }
    line(format!("{}{}", label("户", "households"), counts(&r.households, lang)));
    line(format!("{}{}", label("区域", "areas"), counts(&r.areas, lang)));
    line(format!("{}{}", label("工作人员", "staff"), counts(&r.staff, lang)));
    if r.staff_retired > 0 {
        let n = r.staff_retired;
        line(pick!(
            lang,
            "      删除的工作人员中有 {n} 人改为停用：登录记录或日志里有他们",
            "            {n} of the removed are retired: sessions or logs refer to them"
        ));
    }
    line(format!("{}{}", label("采样点", "points"), counts(&r.points, lang)));
    if r.points_retired > 0 {
        let n = r.points_retired;
        line(pick!(
            lang,
            "      删除的采样点中有 {n} 个改为停用：有行动用到它们",
            "            {n} of the removed are retired: actions name them"
        ));
    }
    let n = r.grid_members_added;
    line(pick!(lang, "新增网格员：{n}", "grid members added: {n}"));
    if !r.flags_from_notes.is_empty() {
        let n = r.flags_from_notes.len();
        line(pick!(lang, "从备注里读出的状态（{n} 条），请核对：", "statuses read from notes ({n}), please confirm:"));
        for notice in r.flags_from_notes.iter().take(SHOWN_NOTICES) {
            let (row, column, value, status) =
                (notice.row, &notice.column, &notice.value, export::status(notice.flags));
            line(pick!(
                lang,
                "  第 {row} 行「{column}」列 [{value}]：{status}",
                "  row {row}, {column} [{value}]: {status}"
            ));
        }
        if n > SHOWN_NOTICES {
            let more = n - SHOWN_NOTICES;
            line(pick!(lang, "  …… 另有 {more} 条", "  … and {more} more"));
        }
    }
    out
}

/// A removed row's kind (`resident`, `household`, `staff`, `point`) as the report names it.
fn kind(kind: &str, lang: Lang) -> &str {
    match (lang, kind) {
        (Lang::Zh, "resident") => "村民",
        (Lang::Zh, "household") => "户",
        (Lang::Zh, "staff") => "工作人员",
        (Lang::Zh, "point") => "采样点",
        (_, other) => other,
    }
}

/// What an import would remove, with the first few named.
pub fn removals(r: &Report, lang: Lang) -> String {
    let total = r.removals.total;
    let sep = pick!(lang, "、", ", ");
    let names: Vec<String> = r.removals.examples.iter().map(|e| format!("{} {}", kind(e.kind, lang), e.name)).collect();
    let names = names.join(&sep);
    pick!(lang, "这次导入会删除 {total} 行，例如 {names}", "this import removes {total} row(s), e.g. {names}")
}

/// `--confirm-removals` given, but not the plan's total.
pub fn removals_mismatch(given: usize, total: usize, lang: Lang) -> String {
    pick!(
        lang,
        "--confirm-removals {given} 不对：这次导入会删除 {total} 行；什么都没有导入",
        "--confirm-removals {given} does not match: the import removes {total}; nothing was imported"
    )
}

/// Removals to confirm, with no terminal to ask on.
pub fn removals_need_confirming(total: usize, lang: Lang) -> String {
    pick!(
        lang,
        "什么都没有导入：确认要删除的话，加上 --confirm-removals {total} 再运行一次",
        "nothing was imported: run again with --confirm-removals {total} to remove them"
    )
}

/// The question asked on a terminal (answered y, yes or 是).
pub fn removals_question(total: usize, lang: Lang) -> String {
    pick!(lang, "删除这 {total} 行吗？[y/N] ", "remove these {total}? [y/N] ")
}

pub fn nothing_imported(lang: Lang) -> String {
    pick!(lang, "什么都没有导入", "nothing was imported")
}

/// The last line of a successful import (or dry run).
pub fn done(residents: usize, dry_run: bool, seconds: f64, lang: Lang) -> String {
    match (lang, dry_run) {
        (Lang::Zh, true) => format!("已检查 {residents} 位村民（试运行，什么都没有写入），用时 {seconds:.2} 秒"),
        (Lang::Zh, false) => format!("已导入 {residents} 位村民，用时 {seconds:.2} 秒"),
        (Lang::En, true) => format!("{residents} residents checked (dry run, nothing written) in {seconds:.2} s"),
        (Lang::En, false) => format!("{residents} residents imported in {seconds:.2} s"),
    }
}

/// `muster import` without a file.
pub fn name_the_file(lang: Lang) -> String {
    pick!(
        lang,
        "请写上花名册文件（或用 --template 写一个模板）",
        "name the roster file (or write a template with --template)"
    )
}

pub fn cannot_read(path: &str, lang: Lang) -> String {
    pick!(lang, "无法读取 {path}", "cannot read {path}")
}

/// A file named neither `.xlsx` nor `.csv`.
pub fn name_the_format(path: &str, lang: Lang) -> String {
    pick!(lang, "{path}：文件名要以 .xlsx 或 .csv 结尾", "{path}: name it .xlsx or .csv")
}

/// `--area` names no area, or several: `why` says which.
pub fn area_unknown(area: &str, why: &str, lang: Lang) -> String {
    pick!(lang, "--area {area}：{why}", "--area {area}: {why}")
}

/// A template written; `workbook`: with all three sheets (else the residents' only, as CSV).
pub fn template_written(path: &str, workbook: bool, lang: Lang) -> String {
    match (lang, workbook) {
        (Lang::Zh, true) => format!("模板已写入 {path}（工作表：村民、工作人员、采样点）"),
        (Lang::Zh, false) => format!("模板已写入 {path}（只有村民表：工作人员和采样点要用 .xlsx）"),
        (Lang::En, true) => format!("template written to {path} (sheets: residents, staff, sampling points)"),
        (Lang::En, false) => {
            format!("template written to {path} (the residents' sheet only: staff and sampling points need an .xlsx)")
        }
    }
}
