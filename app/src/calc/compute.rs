//! The calculator's arithmetic, pure: each operation kind applied to its arguments, and the
//! result written as the original service wrote it (Python's `str()` of a float).

use rand::distr::{Alphanumeric, SampleString};

/// Longest string `random_string` makes.
pub const MAX_RANDOM_STRING: f64 = 1000.0;

/// The operation kinds the calculator knows, by the names the seed uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sum of the arguments.
    Addition,
    /// The first argument minus the rest (spelt `substraction`, as the seed does).
    Substraction,
    /// Product of exactly two arguments.
    Multiplication,
    /// The first argument divided by the second.
    Division,
    /// Square root of the first argument.
    SquareRoot,
    /// A random alphanumeric string as long as the first argument says.
    RandomString,
}

impl Kind {
    /// Every kind, in the order the seed lists them.
    pub const ALL: [Kind; 6] = [
        Kind::Addition,
        Kind::Substraction,
        Kind::Multiplication,
        Kind::Division,
        Kind::SquareRoot,
        Kind::RandomString,
    ];

    /// The name an operation of this kind is stored and shown under.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Addition => "addition",
            Kind::Substraction => "substraction",
            Kind::Multiplication => "multiplication",
            Kind::Division => "division",
            Kind::SquareRoot => "square_root",
            Kind::RandomString => "random_string",
        }
    }

    /// The kind `name` names; `subtraction` is accepted beside the seed's `substraction`.
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "subtraction" => Some(Kind::Substraction),
            _ => Kind::ALL.into_iter().find(|kind| kind.name() == name),
        }
    }

    /// The list of names, as the validation message gives it.
    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(", ")
    }
}

/// Applies `kind` to `args` (already known to hold one or two numbers). The error is the
/// message the `arguments` field is refused with.
pub fn apply(kind: Kind, args: &[f64]) -> Result<String, &'static str> {
    let first = args.first().copied().ok_or("Length must be between 1 and 2.")?;
    let second = || args.get(1).copied().ok_or("This operation needs two arguments.");
    let value = match kind {
        Kind::Addition => args.iter().sum(),
        Kind::Substraction => args[1..].iter().fold(first, |acc, x| acc - x),
        Kind::Multiplication => first * second()?,
        Kind::Division => match second()? {
            0.0 => return Err("Division by zero is not allowed."),
            divisor => first / divisor,
        },
        Kind::SquareRoot if first < 0.0 => return Err("Square root of a negative number is not allowed."),
        Kind::SquareRoot => first.sqrt(),
        Kind::RandomString => return random_string(first),
    };
    Ok(python_float(value))
}

/// A random alphanumeric string of `length` characters (a whole number from 1 to
/// [`MAX_RANDOM_STRING`]), made here rather than by an outside service.
fn random_string(length: f64) -> Result<String, &'static str> {
    if length.fract() != 0.0 || !(1.0..=MAX_RANDOM_STRING).contains(&length) {
        return Err("The length of a random string must be a whole number from 1 to 1000.");
    }
    Ok(Alphanumeric.sample_string(&mut rand::rng(), length as usize))
}

/// `value` as Python's `str(float)` writes it: the shortest digits that read back the same,
/// positional from 1e-4 up to 1e16 (`3.0`, `0.0001`), scientific outside (`1e+16`, `1.5e-05`).
pub fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.5e-5", "3e0".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            let whole = format!("{digits:0<point$}");
            let (int_part, fraction) = whole.split_at(point);
            let fraction = if fraction.is_empty() { "0" } else { fraction };
            format!("{sign}{int_part}.{fraction}")
        }
    } else {
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_python_writes_them() {
        let cases = [
            (3.0, "3.0"),
            (-3.0, "-3.0"),
            (0.0, "0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (2.5, "2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000015, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456.789, "123456.789"),
            (1e300 * 1e10, "inf"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (value, python) in cases {
            assert_eq!(python_float(value), python, "{value:e}");
        }
    }

    #[test]
    fn each_kind_computes_what_the_seed_says() {
        assert_eq!(apply(Kind::Addition, &[1.0, 2.0]), Ok("3.0".into()));
        assert_eq!(apply(Kind::Addition, &[1.5]), Ok("1.5".into()));
        assert_eq!(apply(Kind::Substraction, &[10.0, 4.0]), Ok("6.0".into()));
        assert_eq!(apply(Kind::Multiplication, &[3.0, 4.0]), Ok("12.0".into()));
        assert_eq!(apply(Kind::Division, &[1.0, 4.0]), Ok("0.25".into()));
        assert_eq!(apply(Kind::SquareRoot, &[16.0]), Ok("4.0".into()));
        assert_eq!(apply(Kind::Division, &[1.0, 0.0]), Err("Division by zero is not allowed."));
        assert!(apply(Kind::Multiplication, &[3.0]).is_err());
        assert!(apply(Kind::Division, &[3.0]).is_err());
        assert!(apply(Kind::SquareRoot, &[-1.0]).is_err());
    }

    #[test]
    fn random_strings_have_the_asked_length() {
        let made = apply(Kind::RandomString, &[12.0]).unwrap();
        assert_eq!(made.len(), 12);
        assert!(made.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(apply(Kind::RandomString, &[0.0]).is_err());
        assert!(apply(Kind::RandomString, &[2.5]).is_err());
    }

    #[test]
    fn subtraction_is_accepted_beside_the_seed_spelling() {
        assert_eq!(Kind::parse("subtraction"), Some(Kind::Substraction));
        assert_eq!(Kind::parse("substraction"), Some(Kind::Substraction));
        assert_eq!(Kind::parse("modulo"), None);
    }
}
