//! What a household card says. In Chinese only: the residents and the operators at the
//! sampling point read the card, whatever language the clerk who printed it prefers.

/// The document's title (its `<title>` and the line above the pages on screen).
pub const DOCUMENT_TITLE: &str = "户卡（党群连心卡）";
/// On every card, after the village's name.
pub const CARD_TITLE: &str = "党群连心卡";
pub const NUMBER: &str = "户号";
pub const HOUSEHOLD_CODE: &str = "户码（全家，扫码后选人）";
pub const ADDRESS: &str = "住址";
pub const GRID: &str = "网格";
pub const GRID_MEMBER: &str = "网格员";
pub const PHONE: &str = "电话";
/// In place of a phone number the roster does not have.
pub const NO_PHONE: &str = "（未登记）";
/// In place of a grid member when nobody answers for the household's grid.
pub const NOBODY: &str = "（未指定，请联系村委会）";
pub const CUT: &str = "沿虚线剪开";
pub const FOOT: &str = "采样时请出示本卡：扫户码后选人，或扫本人码。卡片丢失请找网格员补办，旧卡随即作废。";
pub const HOW_TO_PRINT: &str =
    "用浏览器打印（Ctrl+P）：纸张 A4，边距“无”，缩放 100%，勾选“背景图形”。每页两张卡，沿虚线剪开。";
pub const NO_HOUSEHOLDS: &str = "没有可打印的户。";

/// The heading of a card's residents.
pub fn members(n: usize) -> String {
    format!("家庭成员（{n} 人）")
}

/// What the document holds, above its pages on screen.
pub fn summary(households: usize, residents: usize, pages: usize) -> String {
    format!("共 {households} 户、{residents} 人，{pages} 页 A4。")
}
