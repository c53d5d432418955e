//! One-time session codes: 9 digits from a CSPRNG, shown as `123-456-789`.

use std::{fmt, str::FromStr};

use rand::{CryptoRng, Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::ProtoError;

const CODE_SPACE: u32 = 1_000_000_000;

/// A one-time session code: the number a user reads to a technician over the phone.
///
/// Always 9 decimal digits (leading zeros allowed); displayed in groups of three separated by
/// dashes. Parsing accepts dashes and spaces between digits, nothing else.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SessionCode(u32);

impl SessionCode {
    /// Draws a uniformly random code from a cryptographically secure generator.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(rng.gen_range(0..CODE_SPACE))
    }

    /// The code as a number in `0..1_000_000_000`.
    pub fn value(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for SessionCode {
    type Error = ProtoError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        if value < CODE_SPACE {
            Ok(Self(value))
        } else {
            Err(ProtoError::InvalidCode(value.to_string()))
        }
    }
}

impl From<SessionCode> for u32 {
    fn from(code: SessionCode) -> u32 {
        code.0
    }
}

impl fmt::Display for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!("{:09}", self.0);
        write!(f, "{}-{}-{}", &digits[..3], &digits[3..6], &digits[6..])
    }
}

impl fmt::Debug for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionCode({self})")
    }
}

impl FromStr for SessionCode {
    type Err = ProtoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ProtoError::InvalidCode(s.chars().take(32).collect());
        let mut value: u32 = 0;
        let mut digits = 0;
        for c in s.trim().chars() {
            match c {
                '0'..='9' => {
                    digits += 1;
                    if digits > 9 {
                        return Err(invalid());
                    }
                    value = value * 10 + (c as u32 - '0' as u32);
                }
                '-' | ' ' => {}
                _ => return Err(invalid()),
            }
        }
        if digits == 9 {
            Ok(Self(value))
        } else {
            Err(invalid())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn displays_in_groups_of_three_with_leading_zeros() {
        assert_eq!(SessionCode(123_456_789).to_string(), "123-456-789");
        assert_eq!(SessionCode(7).to_string(), "000-000-007");
    }

    #[test]
    fn parses_common_spellings() {
        for s in ["123-456-789", "123456789", "123 456 789", " 123-456-789\n"] {
            assert_eq!(s.parse::<SessionCode>().unwrap().value(), 123_456_789);
        }
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        for s in [
            "",
            "12-345-678",
            "1234-567-890",
            "123-456-78x",
            "１２３456789",
            "+23456789",
        ] {
            assert!(s.parse::<SessionCode>().is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn deserializing_an_out_of_range_number_fails() {
        let bytes = postcard::to_allocvec(&CODE_SPACE).unwrap();
        assert!(postcard::from_bytes::<SessionCode>(&bytes).is_err());
    }

    #[test]
    fn generated_codes_cover_the_space() {
        let mut rng = StdRng::seed_from_u64(1);
        let codes: std::collections::HashSet<u32> = (0..10_000)
            .map(|_| SessionCode::generate(&mut rng).value())
            .collect();
        assert!(codes.len() > 9_990, "suspiciously many repeats");
        assert!(codes.iter().all(|&c| c < CODE_SPACE));
        // All nine digit positions vary: the top digit sees every value 0..=9.
        let top: std::collections::HashSet<u32> = codes.iter().map(|c| c / 100_000_000).collect();
        assert_eq!(top.len(), 10);
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(value in 0..CODE_SPACE) {
            let code = SessionCode(value);
            prop_assert_eq!(code.to_string().parse::<SessionCode>().unwrap(), code);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<SessionCode>();
        }
    }
}
