//! Email addresses and phone numbers, parsed into their normal form. The normal form is what
//! the blind index hashes, so two spellings of one address find the same customer.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("is not a valid email address")]
    Email,
    #[error("must be an international phone number: + and country code, then 6 to 14 digits")]
    Phone,
}

/// An email address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 {
            return Err(ContactError::Email);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(ContactError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(s))
        } else {
            Err(ContactError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Personal values never reach logs through Debug.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

/// A phone number in E.164 form: `+` and up to 15 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts the usual separators (spaces, dots, dashes, slashes, parentheses) and a `00`
    /// international prefix. National numbers are refused rather than guessed at.
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let trimmed = raw.trim();
        let mut digits = String::with_capacity(16);
        let mut rest = trimmed;
        if let Some(r) = rest.strip_prefix('+') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("00") {
            rest = r;
        } else {
            return Err(ContactError::Phone);
        }
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '/' | '(' | ')' => {}
                _ => return Err(ContactError::Phone),
            }
        }
        if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(ContactError::Phone);
        }
        Ok(Phone(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM ").map(|e| e.0),
            Ok("ada.lovelace@example.com".into())
        );
        for bad in [
            "", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@-b.c", "a..b@c.d", "a@b..c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            Phone::parse("+49 (30) 1234-5678").map(|p| p.0),
            Ok("+493012345678".into())
        );
        assert_eq!(
            Phone::parse("0044 20 7946 0000").map(|p| p.0),
            Ok("+442079460000".into())
        );
        for bad in [
            "030 1234567",
            "+0 123 4567",
            "+1 23",
            "+1234567890123456",
            "+49 30 abc",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
