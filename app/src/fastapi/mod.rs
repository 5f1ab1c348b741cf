//! Input as the FastAPI seeds (002, 003) read it, refused as they refused it.
//!
//! 1. [`ModelBody`] reads a body as FastAPI hands it to a pydantic model: the fields of a JSON
//!    object (a form's, too); [`FormBody`] reads form fields only, as `Form()` parameters do.
//!    A body that is no object (malformed, absent, `null`, an array) is refused outright.
//! 2. [`Fields`] checks the fields one by one against their constraints ([`Text`]) and
//!    collects every problem, as pydantic reports them all at once.
//! 3. Each problem is a [`FieldError`], `{"type", "loc", "msg", "input", "ctx"?}` as pydantic
//!    v2 words it; the list is the `detail` of [`crate::error::ApiError::Invalid`].

mod body;
mod field_error;
mod fields;

pub use body::{FormBody, ModelBody};
pub use field_error::{FieldError, Loc};
pub use fields::{Fields, Pattern, Text};
