//! Personal identifiers parsed at the edge. Their `Debug` and `Display` mask the
//! digits, so an `IdNumber` or a `Phone` that slips into a log line or an error
//! message shows only what a clerk may see.

use std::fmt;

/// An 18-character resident identity number (GB 11643-1999), check digit verified.
///
/// Kept inline as its 18 ASCII bytes rather than as a `String`: a roster of a million
/// residents then holds no million small heap blocks for them, and loading it allocates
/// nothing per number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber([u8; 18]);

/// Why a string is not an identity number; the message is for a clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters; this one has {0}")]
    Length(usize),
    #[error("only digits are allowed, with an X as the last character")]
    Characters,
    #[error("the last character should be {expected} according to the check digit rule; check for a typing error")]
    CheckDigit { expected: char },
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl IdNumber {
    /// Parses an ID number, accepting a lowercase `x` and surrounding spaces.
    pub fn parse(raw: &str) -> Result<Self, IdNumberError> {
        let s = raw.trim();
        let Ok(mut bytes) = <[u8; 18]>::try_from(s.as_bytes()) else {
            return Err(IdNumberError::Length(s.chars().count()));
        };
        bytes[17] = bytes[17].to_ascii_uppercase();
        if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            // 18 bytes with a multi-byte character among them are fewer characters.
            let n = s.chars().count();
            return Err(if n == 18 { IdNumberError::Characters } else { IdNumberError::Length(n) });
        }
        let expected = check_digit(&bytes[..17]);
        if bytes[17] != expected as u8 {
            return Err(IdNumberError::CheckDigit { expected });
        }
        Ok(Self(bytes))
    }

    /// Builds a valid number from its first 17 digits (the demo generator's way in).
    pub fn from_body(body17: &str) -> Result<Self, IdNumberError> {
        if body17.len() != 17 || !body17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::Characters);
        }
        Self::parse(&format!("{body17}{}", check_digit(body17.as_bytes())))
    }

    /// The full number, for storage and for the few roles that need it.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).expect("parse let only ASCII digits and X in")
    }

    /// `1101**********123X`: the first four and the last four characters.
    pub fn masked(&self) -> String {
        let s = self.expose();
        format!("{}**********{}", &s[..4], &s[14..])
    }

    pub fn birth_year(&self) -> i32 {
        self.expose()[6..10].parse().unwrap_or(0)
    }

    /// The birth date, digits 7–14 (`YYYYMMDD`); `None` when they are not a real date (the
    /// check digit does not catch a 19490231).
    pub fn birth_date(&self) -> Option<time::Date> {
        let s = self.expose();
        let month = time::Month::try_from(s[10..12].parse::<u8>().ok()?).ok()?;
        time::Date::from_calendar_date(s[6..10].parse().ok()?, month, s[12..14].parse().ok()?).ok()
    }

    /// Whole years of age on `today` (a birthday counts from its day); `None` without a real
    /// birth date, or one after `today`.
    pub fn age_on(&self, today: time::Date) -> Option<u32> {
        let born = self.birth_date()?;
        let years = today.year() - born.year() - i32::from((today.month(), today.day()) < (born.month(), born.day()));
        u32::try_from(years).ok()
    }

    /// The 17th digit: odd for a man, even for a woman.
    pub fn sex(&self) -> Sex {
        if (self.0[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// The 17 digits before the check digit, as a number. The check digit follows from
    /// them, so two ID numbers are equal exactly when their keys are: a roster indexes a
    /// million numbers by 8 bytes each instead of by their text.
    pub(crate) fn key(&self) -> u64 {
        self.0[..17].iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
    }
}

fn check_digit(body17: &[u8]) -> char {
    let sum: u32 = body17.iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// As an ID number records it (its 17th digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// A mainland mobile (11 digits starting with 1) or a landline with area code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a phone number is 11 digits starting with 1, or a landline such as 010-6996xxxx")]
pub struct PhoneError;

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let s: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        let mobile = s.len() == 11 && s.starts_with('1') && digits == 11;
        let landline =
            s.bytes().all(|c| c.is_ascii_digit() || c == b'-') && s.starts_with('0') && (10..=12).contains(&digits);
        if mobile || landline { Ok(Self(s)) } else { Err(PhoneError) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `138****5678`: the first three and the last four digits.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}****{}", &self.0[..3], &self.0[n - 4..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_sample_number_passes_the_check_digit() {
        // The worked example of GB 11643-1999.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse(" 11010519491231002x ").is_ok());
    }

    #[test]
    fn a_wrong_check_digit_names_the_expected_one() {
        assert_eq!(IdNumber::parse("110105194912310021"), Err(IdNumberError::CheckDigit { expected: 'X' }));
    }

    #[test]
    fn a_number_excel_shortened_is_rejected_for_its_length() {
        assert_eq!(IdNumber::parse("1.10105E+17"), Err(IdNumberError::Length(11)));
    }

    #[test]
    fn eighteen_bytes_that_are_not_eighteen_digits_are_refused() {
        // 16 ASCII digits and one two-byte character: 18 bytes, 17 characters.
        assert_eq!(IdNumber::parse("1101051949123100é"), Err(IdNumberError::Length(17)));
        assert_eq!(IdNumber::parse("11010519491231002Y"), Err(IdNumberError::Characters));
        assert_eq!(IdNumber::parse("11010519491231002x").unwrap().expose(), "11010519491231002X");
    }

    #[test]
    fn debug_and_display_never_show_the_whole_number() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.to_string(), "1101**********002X");
        assert!(!format!("{id:?}").contains("19491231"));
        let phone = Phone::parse("13812345678").unwrap();
        assert_eq!(format!("{phone} {phone:?}"), "138****5678 Phone(138****5678)");
    }

    #[test]
    fn the_seventeenth_digit_tells_the_sex_and_digits_seven_to_fourteen_the_birth_date() {
        use time::macros::date;
        // GB 11643's example: 1949-12-31, sequence 002 (even: a woman).
        let woman = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(woman.sex(), Sex::Female);
        assert_eq!(woman.birth_date(), Some(date!(1949 - 12 - 31)));
        let man = IdNumber::from_body("11011720080229013").unwrap();
        assert_eq!(man.sex(), Sex::Male);
        assert_eq!(man.birth_date(), Some(date!(2008 - 02 - 29)));
        assert_eq!(serde_json::to_value(Sex::Male).unwrap(), "male");
    }

    #[test]
    fn age_counts_whole_years_and_turns_on_the_birthday() {
        use time::macros::date;
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.age_on(date!(2022 - 12 - 30)), Some(72));
        assert_eq!(id.age_on(date!(2022 - 12 - 31)), Some(73));
        assert_eq!(id.age_on(date!(1949 - 12 - 31)), Some(0));
        assert_eq!(id.age_on(date!(1949 - 12 - 30)), None, "not born yet");
        // A leap-day child is a year older on 1 March.
        let leap = IdNumber::from_body("11011720080229013").unwrap();
        assert_eq!(leap.age_on(date!(2022 - 02 - 28)), Some(13));
        assert_eq!(leap.age_on(date!(2022 - 03 - 01)), Some(14));
    }

    #[test]
    fn a_number_whose_date_is_not_a_day_has_no_birth_date_or_age() {
        let feb31 = IdNumber::from_body("11010519490231002").unwrap();
        assert_eq!(feb31.birth_date(), None);
        assert_eq!(feb31.age_on(time::macros::date!(2022 - 04 - 22)), None);
        let month13 = IdNumber::from_body("11010519491331002").unwrap();
        assert_eq!(month13.birth_date(), None);
    }

    #[test]
    fn phones_accept_mobiles_and_landlines_only() {
        assert!(Phone::parse("010-69961234").is_ok());
        assert!(Phone::parse("1381234567").is_err());
        assert!(Phone::parse("abc").is_err());
    }
}
