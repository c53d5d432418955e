//! One-time session codes: 12 digits, shown as `123-456-789-012`.
//!
//! A code has two halves with different readers:
//!
//! - the **nameplate** (first 6 digits) is drawn by the relay from a CSPRNG and tells it which
//!   waiting agent a viewer wants;
//! - the **secret** (last 6 digits) is drawn by the agent from a CSPRNG and never leaves the two
//!   endpoints: it is the password of the end-to-end key exchange, so a relay that knows only the
//!   nameplate cannot impersonate either side.

use std::{fmt, str::FromStr};

use rand::{CryptoRng, Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::ProtoError;

const HALF_DIGITS: usize = 6;
const HALF_SPACE: u32 = 1_000_000;

/// The relay-issued half of a session code: which waiting agent a viewer wants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Nameplate(u32);

impl Nameplate {
    /// Draws a uniformly random nameplate from a cryptographically secure generator.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(rng.gen_range(0..HALF_SPACE))
    }

    /// The nameplate as a number in `0..1_000_000`.
    pub fn value(self) -> u32 {
        self.0
    }

    /// How many distinct nameplates exist.
    pub const SPACE: u32 = HALF_SPACE;
}

impl TryFrom<u32> for Nameplate {
    type Error = ProtoError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        if value < HALF_SPACE {
            Ok(Self(value))
        } else {
            Err(ProtoError::InvalidNameplate(value))
        }
    }
}

impl From<Nameplate> for u32 {
    fn from(nameplate: Nameplate) -> u32 {
        nameplate.0
    }
}

impl fmt::Display for Nameplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:06}", self.0);
        write!(f, "{}-{}", &digits[..3], &digits[3..])
    }
}

impl fmt::Debug for Nameplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nameplate({self})")
    }
}

/// A one-time session code: the number a user reads to a technician over the phone.
///
/// Always 12 decimal digits (leading zeros allowed), displayed in groups of three separated by
/// dashes; the first six are the [`Nameplate`], the last six the secret. Parsing accepts dashes
/// and spaces between digits, nothing else. It is deliberately not serializable: the whole code
/// never goes on the wire, only its nameplate does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionCode {
    nameplate: Nameplate,
    secret: u32,
}

impl SessionCode {
    /// Completes a relay-issued nameplate with a fresh secret from a cryptographically secure
    /// generator.
    pub fn generate<R: RngCore + CryptoRng>(nameplate: Nameplate, rng: &mut R) -> Self {
        Self {
            nameplate,
            secret: rng.gen_range(0..HALF_SPACE),
        }
    }

    /// The half the relay knows.
    pub fn nameplate(self) -> Nameplate {
        self.nameplate
    }

    /// The whole code as the password of the end-to-end key exchange: its 12 ASCII digits.
    pub fn password(self) -> [u8; 2 * HALF_DIGITS] {
        let mut out = [0; 2 * HALF_DIGITS];
        let digits = format!("{:06}{:06}", self.nameplate.0, self.secret);
        out.copy_from_slice(digits.as_bytes());
        out
    }
}

impl fmt::Display for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:06}", self.secret);
        write!(f, "{}-{}-{}", self.nameplate, &digits[..3], &digits[3..])
    }
}

impl fmt::Debug for SessionCode {
    /// Shows only the nameplate: the secret must not end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionCode({}-***-***)", self.nameplate)
    }
}

impl FromStr for SessionCode {
    type Err = ProtoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ProtoError::InvalidCode(s.chars().take(32).collect());
        let mut value: u64 = 0;
        let mut digits = 0;
        for c in s.trim().chars() {
            match c {
                '0'..='9' => {
                    digits += 1;
                    if digits > 2 * HALF_DIGITS {
                        return Err(invalid());
                    }
                    value = value * 10 + u64::from(c as u32 - '0' as u32);
                }
                '-' | ' ' => {}
                _ => return Err(invalid()),
            }
        }
        if digits != 2 * HALF_DIGITS {
            return Err(invalid());
        }
        let space = u64::from(HALF_SPACE);
        // Both halves are below HALF_SPACE, so they fit in u32.
        Ok(Self {
            nameplate: Nameplate((value / space) as u32),
            secret: (value % space) as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn code(nameplate: u32, secret: u32) -> SessionCode {
        SessionCode {
            nameplate: Nameplate(nameplate),
            secret,
        }
    }

    #[test]
    fn displays_in_groups_of_three_with_leading_zeros() {
        assert_eq!(code(123_456, 789_012).to_string(), "123-456-789-012");
        assert_eq!(code(7, 8).to_string(), "000-007-000-008");
        assert_eq!(Nameplate(42).to_string(), "000-042");
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let debug = format!("{:?}", code(123_456, 789_012));
        assert!(!debug.contains("789"), "{debug}");
        assert!(debug.contains("123-456"), "{debug}");
    }

    #[test]
    fn parses_common_spellings() {
        for s in [
            "123-456-789-012",
            "123456789012",
            "123 456 789 012",
            " 123-456-789-012\n",
        ] {
            let parsed = s.parse::<SessionCode>().unwrap();
            assert_eq!(parsed, code(123_456, 789_012), "{s:?}");
            assert_eq!(parsed.nameplate().value(), 123_456);
        }
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        for s in [
            "",
            "123-456-789",
            "123-456-789-0123",
            "123-456-789-01x",
            "１２３456789012",
            "+23456789012",
        ] {
            assert!(s.parse::<SessionCode>().is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn the_password_is_all_twelve_digits() {
        assert_eq!(&code(123_456, 789_012).password(), b"123456789012");
        assert_eq!(&code(1, 2).password(), b"000001000002");
    }

    #[test]
    fn deserializing_an_out_of_range_nameplate_fails() {
        let bytes = postcard::to_allocvec(&HALF_SPACE).unwrap();
        assert!(postcard::from_bytes::<Nameplate>(&bytes).is_err());
    }

    #[test]
    fn generated_halves_cover_their_space() {
        let mut rng = StdRng::seed_from_u64(1);
        let nameplate = Nameplate::generate(&mut rng);
        let secrets: std::collections::HashSet<u32> = (0..10_000)
            .map(|_| SessionCode::generate(nameplate, &mut rng).secret)
            .collect();
        assert!(secrets.len() > 9_900, "suspiciously many repeats");
        assert!(secrets.iter().all(|&s| s < HALF_SPACE));
        let top: std::collections::HashSet<u32> = secrets.iter().map(|s| s / 100_000).collect();
        assert_eq!(top.len(), 10, "the top digit of the secret varies");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(nameplate in 0..HALF_SPACE, secret in 0..HALF_SPACE) {
            let code = code(nameplate, secret);
            prop_assert_eq!(code.to_string().parse::<SessionCode>().unwrap(), code);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<SessionCode>();
        }
    }
}
