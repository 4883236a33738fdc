//! What each problem of a lab's results sheet says, and how to fix it: one function per
//! problem code, each `(problem, fix)` in both languages, as the roster sheet's are
//! ([`super::import`]). The row, column and cell are the
//! [`Problem`](crate::roster::import::Problem)'s own fields; the texts name whatever else
//! the lab needs to find (the other row, the result already entered).

pub use super::import::Text;
use super::{Lang, pick, said};
use crate::action::LabResult;

/// A result as the lab writes it.
pub fn result_name(result: LabResult, lang: Lang) -> &'static str {
    match (lang, result) {
        (Lang::Zh, LabResult::Negative) => "阴性",
        (Lang::Zh, LabResult::Positive) => "阳性",
        (Lang::En, LabResult::Negative) => "negative",
        (Lang::En, LabResult::Positive) => "positive",
    }
}

/// `header_missing`: no row in the first `searched` has a tube code or a result header.
pub fn header_missing(searched: usize) -> Text {
    (
        said!("前 {searched} 行里找不到表头", "no header row found in the first {searched} rows"),
        said!(
            "在结果上方放一行表头，包含“试管编码”和“检测结果”两列",
            "put a row of column headers above the results, with 试管编码 (tube code) and 检测结果 (result)"
        ),
    )
}

/// `column_missing`: the header lacks the tube code or the result column (`header` is
/// the name the template gives it).
pub fn column_missing(header: &str) -> Text {
    let tube = header == TUBE_HEADER;
    let (others, others_en) = if tube {
        ("管码、条码、混管编码", "管码, 条码, 混管编码, tube")
    } else {
        ("结果", "结果, result")
    };
    (
        said!("缺少“{header}”一列", "there is no {header} column"),
        said!(
            "加上这一列，表头写“{header}”（也可写 {others}）",
            "add the column with the header {header} (or one of {others_en})"
        ),
    )
}

/// What the template calls the two columns.
pub const TUBE_HEADER: &str = "试管编码";
pub const RESULT_HEADER: &str = "检测结果";

/// `no_results`: a header and nothing under it.
pub fn no_results() -> Text {
    (
        said!("表头下面没有结果", "there are no results below the header"),
        said!("每支试管写一行：试管编码和检测结果", "one row per tube: its code and its result"),
    )
}

/// `tube_missing`: a row with a result and no tube code.
pub fn tube_missing() -> Text {
    (
        said!("试管编码是空的", "the tube code is blank"),
        said!("填写试管上条码的编码，或删除这一行", "write the code on the tube's barcode, or delete the row"),
    )
}

/// `tube_malformed`: not what a tube's barcode holds.
pub fn tube_malformed(max: usize) -> Text {
    (
        said!("这不是试管编码", "this is not a tube code"),
        said!(
            "试管编码只含字母、数字和 - _ . /，最多 {max} 个字符：对照试管条码改正",
            "a tube code has letters, digits and - _ . / only, at most {max} characters: copy it from the barcode"
        ),
    )
}

/// `tube_unknown`: no tube of that code in this action. `number`: the sheet held the code
/// as a number, which loses leading zeros.
pub fn tube_unknown(action: &str, number: bool) -> Text {
    let fix = if number {
        said!(
            "Excel 把编码存成了数字，开头的 0 可能丢了：把这一列设为“文本”格式，重新填写编码",
            "Excel stored the code as a number, which drops leading zeros: format the column as text and type the code again"
        )
    } else {
        said!(
            "核对编码（是否属于另一次行动）；本次行动里没有的试管不能录结果",
            "check the code (is it from another action?): only this action's tubes take results"
        )
    };
    (said!("“{action}”里没有这支试管", "{action} has no tube of this code"), fix)
}

/// `result_unreadable`: the result cell is blank or says something else.
pub fn result_unreadable(blank: bool) -> Text {
    let problem = if blank {
        said!("检测结果是空的", "the result is blank")
    } else {
        said!("看不懂这个检测结果", "unreadable result")
    };
    (
        problem,
        said!(
            "写 阴性 或 阳性（也可写 negative/positive、-/+、neg/pos）",
            "write 阴性 (negative) or 阳性 (positive); negative/positive, -/+ and neg/pos also work"
        ),
    )
}

/// `tube_conflict`: the same tube on an earlier row with the other result.
pub fn tube_conflict(first_row: u32, first: LabResult) -> Text {
    let (zh, en) = (result_name(first, Lang::Zh), result_name(first, Lang::En));
    (
        said!(
            "这支试管在第 {first_row} 行是{zh}，这里不一样",
            "row {first_row} gives this tube as {en}, this row does not"
        ),
        said!(
            "一支试管只有一个结果：核对后删除错的一行",
            "a tube has one result: check which is right and delete the other row"
        ),
    )
}

/// `result_contradicts`: the tube already has the other result.
pub fn result_contradicts(entered: LabResult) -> Text {
    let (zh, en) = (result_name(entered, Lang::Zh), result_name(entered, Lang::En));
    (
        said!("这支试管已经录入为{zh}", "this tube already has the result {en}"),
        said!(
            "已录入的结果不能改：如果录错了，请联系总网格长；否则改正这一行",
            "an entered result cannot be changed: if it was wrong, ask the chief; otherwise correct this row"
        ),
    )
}

/// `results_invalid`: the answer's `message`, over its `problems`.
pub fn results_invalid(n: usize, lang: Lang) -> String {
    pick!(
        lang,
        "结果表里有 {n} 个问题，一个结果都没有录入：请在表格中改正后重新上传",
        "the results sheet has {n} problem(s); no result was recorded: fix them in the sheet and upload it again"
    )
}
