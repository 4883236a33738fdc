//! What the after-action report (复盘) says: its titles, column heads and the names of the
//! night's steps, Chinese first and English. One table of words, looked up by key, so the
//! HTML page, the XLSX sheets and the CSV say the same things.

use super::Lang;

/// `(key, Chinese, English)`.
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "复盘报告", "After-action report"),
    ("generated", "生成时间", "Generated"),
    ("from.call_up", "从召集起计时", "minutes from the call-up"),
    ("from.opened", "从开放采样起计时", "minutes from the opening"),
    ("from.none", "尚未开始", "not started"),
    ("summary", "概要", "Summary"),
    ("timeline", "时间线", "Timeline"),
    ("curve", "落实人数曲线", "Accounted over time"),
    ("per10", "每 10 分钟采样数", "Samples per 10 minutes"),
    ("points", "各采样点", "Sampling points"),
    ("areas", "各区域", "Areas"),
    ("members", "各网格员", "Grid members"),
    ("missing", "截至结束仍未落实", "Still missing at the close"),
    ("offline", "离线补传", "Sent late (offline)"),
    ("tubes", "混管", "Pooled tubes"),
    ("compare", "与往轮对比", "Against earlier rounds"),
    ("step", "环节", "Step"),
    ("clock", "时间", "Time"),
    ("minutes", "分钟", "Minutes"),
    ("mark.call_up", "发出召集", "Call-up sent"),
    ("mark.ack_50", "50% 回复收到", "50 % acknowledged"),
    ("mark.ack_90", "90% 回复收到", "90 % acknowledged"),
    ("mark.ack_100", "全部回复", "All acknowledged"),
    ("mark.opened", "采样点开放", "Points open"),
    ("mark.first_sample", "第一份采样", "First sample"),
    ("mark.accounted_50", "落实 50%", "50 % accounted"),
    ("mark.accounted_90", "落实 90%", "90 % accounted"),
    ("mark.accounted_95", "落实 95%", "95 % accounted"),
    ("mark.accounted_99", "落实 99%", "99 % accounted"),
    ("mark.accounted_100", "全部落实", "All accounted"),
    ("mark.last_found", "最后一人落实", "Last resident found"),
    ("mark.closed", "行动结束", "Closed"),
    ("no_data", "无此数据", "no data"),
    ("target", "应检", "Target"),
    ("sampled", "已采样", "Sampled"),
    ("exempt", "免检", "Exempt"),
    ("accounted", "已落实", "Accounted"),
    ("missing_n", "未落实", "Missing"),
    ("scans", "采样次数", "Samples taken"),
    ("walk_ins", "外来人员", "Walk-ins"),
    ("outside", "范围外村民", "From outside the scope"),
    ("events", "记录条数", "Events"),
    ("call_up", "召集", "Call-up"),
    ("called", "召集人数", "Called"),
    ("received", "收到", "Received"),
    ("cannot", "有困难", "Cannot come"),
    ("never", "未回复", "Never answered"),
    ("point", "采样点", "Point"),
    ("at_home", "上门", "At home"),
    ("per_hour", "每小时", "Per hour"),
    ("busiest", "最忙 15 分钟起", "Busiest 15 minutes from"),
    ("busiest_n", "最忙 15 分钟人数", "Busiest 15 minutes, sampled"),
    ("idle", "空闲超过 5 分钟", "Idle over 5 minutes"),
    ("first", "第一份", "First"),
    ("last", "最后一份", "Last"),
    ("tubes_n", "混管数", "Tubes"),
    ("area", "区域", "Area"),
    ("level", "层级", "Level"),
    ("staff", "负责人", "Responsible"),
    ("member", "网格员", "Grid member"),
    ("households", "户数", "Households"),
    ("at_90", "90% 时间", "90 % at"),
    ("at_100", "100% 时间", "100 % at"),
    ("chased", "追查人数", "Chased"),
    ("came", "到点采样", "Came to a point"),
    ("home_visit", "上门采样", "Home visit"),
    ("away", "外出", "Away"),
    ("exempt_other", "其他免检", "Other exemption"),
    ("refused", "拒绝", "Refused"),
    ("unreachable", "联系不上", "Unreachable"),
    ("still_missing", "仍未落实", "Still missing"),
    ("chase_median", "追查用时中位（分钟）", "Chase, median minutes"),
    ("chase_max", "追查最长（分钟）", "Chase, longest minutes"),
    ("escalated", "上报次数", "Escalated"),
    ("covered_by", "代管人", "Covered by"),
    ("chain", "接替与上报", "Substitutes and reports up"),
    ("no_chain", "没有人交接，也没有片区上报。", "Nobody handed households over and no area reported done."),
    ("what", "事项", "What"),
    ("by", "经办人", "By"),
    ("detail", "内容", "Detail"),
    ("from_chase", "距开始追查（分钟）", "Minutes from the chase's start"),
    ("in_time", "按时", "In time"),
    ("chain.handed", "交给代管人", "Handed to a substitute"),
    ("chain.handed_back", "交还", "Handed back"),
    ("chain.signed_off", "本片完成上报", "Area reported done"),
    ("yes_in_time", "按时", "in time"),
    ("late_report", "超时", "late"),
    ("name", "姓名", "Name"),
    ("id_number", "身份证号", "ID number"),
    ("household", "户号", "Household"),
    ("grid", "网格", "Grid"),
    ("chase", "最后状态", "Last status"),
    ("chase_at", "状态时间", "Status at"),
    ("late", "晚到的记录", "Arrived late"),
    ("late_median", "晚到中位（秒）", "Median lateness (s)"),
    ("late_max", "最晚（秒）", "Longest lateness (s)"),
    ("size", "规格", "Size"),
    ("negative", "阴性", "Negative"),
    ("positive", "阳性", "Positive"),
    ("pending", "待出结果", "Pending"),
    ("tube", "管号", "Tube"),
    ("people", "人数", "People"),
    ("round", "轮次", "Round"),
    ("then", "上一轮（分钟）", "Then (minutes)"),
    ("now", "本轮（分钟）", "Now (minutes)"),
    ("faster_by", "快了（分钟）", "Faster by (minutes)"),
    ("none_missing", "全部落实，没有未落实的人。", "Everyone is accounted for."),
    ("chase.notified", "已通知", "notified"),
    ("chase.on_the_way", "在路上", "on the way"),
    ("chase.bedridden", "卧床需上门", "bedridden"),
    ("chase.refused", "拒绝", "refused"),
    ("chase.unreachable", "联系不上", "unreachable"),
    ("chase.nobody_home", "家中无人", "nobody home"),
    ("chase.away", "外出", "away"),
    ("chase.none", "未联系到", "not reached"),
];

/// The words for `key` in `lang`; the key itself if it has none (a test checks there is
/// none such).
pub fn word(key: &str, lang: Lang) -> &'static str {
    match WORDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => zh,
            Lang::En => en,
        },
        None => "?",
    }
}

/// Every key, for the test that each has both languages.
pub fn keys() -> impl Iterator<Item = &'static str> {
    WORDS.iter().map(|(k, _, _)| *k)
}

/// A step of the chain of command as the report tells it (see `crate::report::ChainRow`).
pub struct ChainStep<'a> {
    /// `handed`, `handed_back` or `signed_off`.
    pub what: &'a str,
    /// A handover's: whose households, how many, to whom.
    pub from: &'a [String],
    pub households: usize,
    pub to: Option<&'a str>,
    /// A sign-off's: its area and how many were still missing.
    pub area: Option<&'a str>,
    pub missing: usize,
    pub note: &'a str,
}

/// What a step of the chain of command did, in a sentence of the report.
pub fn chain_detail(r: &ChainStep, lang: Lang) -> String {
    let from = r.from.join("、");
    let to = r.to.unwrap_or_default();
    let area = r.area.unwrap_or_default();
    let n = r.households;
    let mut said = match (r.what, lang) {
        ("handed", Lang::Zh) if from.is_empty() => format!("{n} 户交给 {to} 代管"),
        ("handed", Lang::Zh) => format!("{from} 的 {n} 户交给 {to} 代管"),
        ("handed", Lang::En) if from.is_empty() => format!("{n} households to {to}"),
        ("handed", Lang::En) => format!("{n} households of {from} to {to}"),
        ("handed_back", Lang::Zh) if from.is_empty() => format!("{n} 户交还原网格员"),
        ("handed_back", Lang::Zh) => format!("{from} 代管的 {n} 户交还原网格员"),
        ("handed_back", Lang::En) if from.is_empty() => format!("{n} households back to their own member"),
        ("handed_back", Lang::En) => format!("{n} households {from} covered, back to their own member"),
        (_, Lang::Zh) if r.missing == 0 => format!("{area}：全部落实"),
        (_, Lang::En) if r.missing == 0 => format!("{area}: all accounted for"),
        (_, Lang::Zh) => format!("{area}：全部落实，仅 {} 人未检", r.missing),
        (_, Lang::En) => format!("{area}: all accounted for except {}", r.missing),
    };
    if !r.note.is_empty() {
        said.push_str(&format!("（{}）", r.note));
    }
    said
}

/// What `muster report` says when it has written its file.
pub fn written(path: &str, lang: Lang) -> String {
    super::pick!(lang, "复盘报告已写入 {path}", "report written to {path}")
}

/// `muster report --format` with a format it does not make.
pub fn unknown_format(format: &str, lang: Lang) -> String {
    super::pick!(
        lang,
        "不认识的格式「{format}」：请用 html、xlsx、csv 或 json",
        "unknown format `{format}`: use html, xlsx, csv or json"
    )
}

/// An action that does not exist.
pub fn unknown_action(id: i64, lang: Lang) -> String {
    super::pick!(lang, "没有编号为 {id} 的行动", "there is no action {id}")
}

/// `--compare` with a round that cannot stand beside this one.
pub fn not_comparable(other: i64, why: &str, lang: Lang) -> String {
    super::api::field::not_comparable(other, why).get(lang).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_of_the_report_has_chinese_and_english() {
        let mut seen = std::collections::HashSet::new();
        for key in keys() {
            assert!(seen.insert(key), "{key} twice");
            crate::messages::assert_speaks_both(key, word(key, Lang::Zh), word(key, Lang::En));
        }
    }
}
