//! A workaround for a moto 5.2 bug: CreateLaunchTemplateVersion stores
//! `LaunchTemplateData.UserData` unwrapped, and every later Auto Scaling launch from that version
//! then answers 500 (an AssertionError in moto/ec2/models/launch_templates.py, `user_data`). The
//! proxy forwards every CreateLaunchTemplateVersion without its user data, remembers the user
//! data per launch template id and version number, and puts it back into
//! DescribeLaunchTemplateVersions answers (`launchTemplateData/userData`), so the version reads as
//! AWS would show it. Instances moto launches from such a version get no user data (moto runs
//! none anyway). A version created from a `SourceVersion` without user data of its own does not
//! inherit the source's remembered user data.

use std::collections::HashMap;
use std::sync::Mutex;

use roxmltree::Document;

use crate::request::{AwsRequest, Service};
use crate::xml::{self, Edits};

/// The parameter that holds a new version's user data.
const PARAM: &str = "LaunchTemplateData.UserData";

/// The user data of the versions created through the proxy.
#[derive(Debug, Default)]
pub(crate) struct UserData {
    versions: Mutex<HashMap<(String, String), String>>,
}

impl UserData {
    /// The body to forward instead of `call`'s, and the user data taken out of it, if `call` is a
    /// CreateLaunchTemplateVersion with user data.
    pub(crate) fn strip(&self, call: &AwsRequest) -> Option<(String, String)> {
        if !call.is(Service::Ec2, "CreateLaunchTemplateVersion") {
            return None;
        }
        let user_data = call.param(PARAM)?.to_string();
        let kept = call.params.iter().filter(|(name, _)| name != PARAM);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
        Some((body, user_data))
    }

    /// Remembers `user_data` for the version that moto's `answer` to CreateLaunchTemplateVersion
    /// created.
    pub(crate) fn created(&self, answer: &str, user_data: String) {
        let Ok(document) = Document::parse(answer) else { return };
        let Some(version) = document.descendants().find(|n| n.has_tag_name("launchTemplateVersion")) else { return };
        let (Some(id), Some(number)) =
            (xml::child_text(version, "launchTemplateId"), xml::child_text(version, "versionNumber"))
        else {
            return;
        };
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).insert((id.to_string(), number.to_string()), user_data);
    }

    /// moto's `answer` to `call` with the remembered user data put back, if it is a
    /// DescribeLaunchTemplateVersions answer listing such versions.
    pub(crate) fn rewrite(&self, call: &AwsRequest, answer: &str) -> Option<String> {
        if !call.is(Service::Ec2, "DescribeLaunchTemplateVersions") {
            return None;
        }
        let versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if versions.is_empty() {
            return None;
        }
        let document = Document::parse(answer).ok()?;
        let mut edits = Edits::default();
        let sets = document.descendants().filter(|n| n.has_tag_name("launchTemplateVersionSet"));
        for item in sets.flat_map(|set| set.children().filter(|n| n.has_tag_name("item"))) {
            let (Some(id), Some(number)) =
                (xml::child_text(item, "launchTemplateId"), xml::child_text(item, "versionNumber"))
            else {
                continue;
            };
            let Some(user_data) = versions.get(&(id.to_string(), number.to_string())) else { continue };
            let Some(data) = xml::child(item, "launchTemplateData") else { continue };
            let user_data = xml::element("userData", user_data);
            match xml::child(data, "userData") {
                Some(stored) => edits.replace(stored, user_data),
                None => edits.replace(data, with_child_appended(&answer[data.range()], &user_data)),
            }
        }
        edits.apply(answer)
    }
}

/// The XML `element` (`<a>…</a>` or `<a/>`) with the XML `child` added as its last child.
fn with_child_appended(element: &str, child: &str) -> String {
    if let Some(open) = element.strip_suffix("/>") {
        let name = open.trim_start_matches('<').split([' ', '\t', '\n']).next().unwrap_or_default();
        return format!("{}>{child}</{name}>", open.trim_end());
    }
    let close = element.rfind("</").unwrap_or(element.len());
    format!("{}{child}{}", &element[..close], &element[close..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::testing::query;

    const CREATED: &str = "<CreateLaunchTemplateVersionResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">\
        <launchTemplateVersion><launchTemplateId>lt-1</launchTemplateId><versionNumber>2</versionNumber>\
        <launchTemplateData><imageId>ami-1</imageId></launchTemplateData></launchTemplateVersion>\
        </CreateLaunchTemplateVersionResponse>";

    fn described(items: &str) -> String {
        format!(
            "<DescribeLaunchTemplateVersionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">\
             <launchTemplateVersionSet>{items}</launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>"
        )
    }

    fn user_data(answer: &str) -> Vec<(String, Option<String>)> {
        let document = Document::parse(answer).unwrap();
        document
            .descendants()
            .filter(|n| n.has_tag_name("item"))
            .map(|item| {
                let number = xml::child_text(item, "versionNumber").unwrap().to_string();
                let data = xml::child(item, "launchTemplateData").unwrap();
                (number, xml::child_text(data, "userData").map(str::to_string))
            })
            .collect()
    }

    #[test]
    fn user_data_is_kept_from_moto_and_put_back_into_descriptions() {
        let store = UserData::default();
        let create = query(
            "ec2",
            &[
                ("Action", "CreateLaunchTemplateVersion"),
                ("LaunchTemplateId", "lt-1"),
                ("LaunchTemplateData.ImageId", "ami-1"),
                (PARAM, "IyEvYmluL3No"),
            ],
        );
        let (body, taken) = store.strip(&create).unwrap();
        assert_eq!(taken, "IyEvYmluL3No");
        assert_eq!(body, "Action=CreateLaunchTemplateVersion&LaunchTemplateId=lt-1&LaunchTemplateData.ImageId=ami-1");
        store.created(CREATED, taken);
        let describe = query("ec2", &[("Action", "DescribeLaunchTemplateVersions"), ("LaunchTemplateId", "lt-1")]);
        let answer = described(
            "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>1</versionNumber>\
             <launchTemplateData><userData>djE=</userData></launchTemplateData></item>\
             <item><launchTemplateId>lt-1</launchTemplateId><versionNumber>2</versionNumber>\
             <launchTemplateData><imageId>ami-1</imageId></launchTemplateData></item>",
        );
        let rewritten = store.rewrite(&describe, &answer).unwrap();
        assert_eq!(
            user_data(&rewritten),
            [("1".into(), Some("djE=".into())), ("2".into(), Some("IyEvYmluL3No".into()))]
        );
        let stored = answer.replace("<imageId>ami-1</imageId>", "<userData>junk</userData>");
        assert_eq!(user_data(&store.rewrite(&describe, &stored).unwrap())[1].1.as_deref(), Some("IyEvYmluL3No"));
    }

    #[test]
    fn other_calls_and_versions_are_left_alone() {
        let store = UserData::default();
        let without = query("ec2", &[("Action", "CreateLaunchTemplateVersion"), ("LaunchTemplateId", "lt-1")]);
        assert_eq!(store.strip(&without), None);
        let first = query("ec2", &[("Action", "CreateLaunchTemplate"), (PARAM, "eA==")]);
        assert_eq!(store.strip(&first), None, "CreateLaunchTemplate stores user data right");
        store.created(CREATED, "eA==".into());
        let describe = query("ec2", &[("Action", "DescribeLaunchTemplateVersions")]);
        let other = described(
            "<item><launchTemplateId>lt-2</launchTemplateId><versionNumber>2</versionNumber>\
             <launchTemplateData/></item>",
        );
        assert_eq!(store.rewrite(&describe, &other), None);
        let empty = other.replace("lt-2", "lt-1");
        assert_eq!(user_data(&store.rewrite(&describe, &empty).unwrap()), [("2".into(), Some("eA==".into()))]);
    }

    #[test]
    fn children_are_appended_to_open_and_empty_elements() {
        assert_eq!(with_child_appended("<a><b/></a>", "<c/>"), "<a><b/><c/></a>");
        assert_eq!(with_child_appended("<a />", "<c/>"), "<a><c/></a>");
    }
}
