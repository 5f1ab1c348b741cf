//! `launch_template`: how instances start: the AMI (Amazon Linux 2023 for the instance
//! type's architecture, through SSM, unless an id is given), the instance profile, the
//! app's security group, IMDSv2 required with a hop limit of 2 (the app runs in a container,
//! one hop further from the metadata service, and needs it for its role's credentials), an
//! encrypted root volume, and the user data that runs the app image.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest, LaunchTemplateInstanceMetadataEndpointState,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData,
    ResourceType, Tag, VolumeType,
};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::tags::Tags;
use super::{
    Applied, Attributes, Cx, Hint, Live, NEW_EC2_ID, Refused, Stored, TypedKind, found, gone_is_fine, note_created,
    retrying, tags,
};
use crate::stack::StoreKind;

/// The `launch_template` kind.
pub struct LaunchTemplate;

/// A `launch_template`'s attributes; `R` is how the values other resources give are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplateAttrs<R = String> {
    /// Its name, unique in the region.
    pub name: String,
    /// `al2023` (the latest Amazon Linux 2023, through SSM) or an AMI id.
    pub ami: String,
    /// The instance type.
    pub instance_type: String,
    /// The instance profile that carries the role.
    pub instance_profile_arn: R,
    /// The app's security group.
    pub security_group_ids: Vec<R>,
    /// Always true: the instances require IMDSv2.
    pub imdsv2_required: bool,
    /// Always true: the root volume is encrypted.
    pub root_volume_encrypted: bool,
    /// What the user data runs.
    pub app: AppConfig<R>,
    /// Its tags, which the instances carry too.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for LaunchTemplateAttrs<R> {
    const KIND: &'static str = "launch_template";
    const UPDATABLE: &'static [&'static str] = &[
        "ami",
        "instance_type",
        "instance_profile_arn",
        "security_group_ids",
        "imdsv2_required",
        "root_volume_encrypted",
        "app",
        "tags",
    ];
    /// Every change but to its tags makes a new version, which the group then rolls out.
    const UPDATE_CHANGES: &'static [&'static str] = &["version"];
}

/// The app the instances run, as the user data starts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppConfig<R = String> {
    /// The pushed image, pinned by digest; `None` when cloudcomp did not push it.
    pub image: Option<R>,
    /// Where the image is, for one named by its tag.
    pub image_repository: R,
    /// The image's tag.
    pub image_tag: String,
    /// The port it listens on.
    pub port: u16,
    /// Where it keeps its data.
    pub store: StoreKind,
    /// The shared DynamoDB table, on that store.
    pub table: Option<String>,
    /// The region of the table and the JWT key.
    pub region: String,
    /// The SSM parameter holding the JWT key (absent from states written before it was).
    pub jwt_secret_parameter: Option<R>,
    /// Whether to seed the demo accounts (seed 003's and seed 004's).
    #[serde(default)]
    pub demo_user: bool,
    /// The stack's `app.env` (absent from states written before it was, and when empty, so
    /// that those states see no change).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// The boot script, with `{{field}}`s filled from the `app` attribute.
const USER_DATA: &str = include_str!("../../templates/user-data.sh");

/// SSM parameter naming the latest Amazon Linux 2023 AMI, without its architecture.
const AL2023_PARAMETER: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default";

/// The architecture the app image is built for (the static binary of this machine).
pub const IMAGE_ARCHITECTURE: &str = "x86_64";

/// How many network hops a metadata response may travel: 2 reaches a container.
const METADATA_HOP_LIMIT: i32 = 2;

/// Where the user data writes the stack's `app.env`, one `NAME=value` a line, for
/// `docker run --env-file` (which takes each value literally).
const ENV_FILE: &str = "/etc/cloudcomp/app.env";

/// The user data for `app`: the image, port, store, table, region, the SSM parameter
/// holding the JWT key (the app reads it with the instance role; the key itself is never in
/// the user data), whether to seed the demo account, and the stack's `app.env` (written to
/// [`ENV_FILE`] by shell-quoted `printf`s, out of reach of the unit file's and the heredoc's
/// expansions).
pub fn render_user_data(app: &AppConfig) -> String {
    // A pushed image is pinned by digest; one cloudcomp did not push, by its tag.
    let image = match &app.image {
        Some(pinned) => pinned.clone(),
        None => format!("{}:{}", app.image_repository, app.image_tag),
    };
    let mut env = app.table.as_ref().map(|table| format!("-e CLOUDCOMP_TABLE={table}")).unwrap_or_default();
    if let Some(secret) = &app.jwt_secret_parameter {
        env.push_str(&format!(" -e CLOUDCOMP_JWT_SECRET_PARAMETER={secret}"));
    }
    env.push_str(&format!(" -e CLOUDCOMP_DEMO_USER={0} -e CLOUDCOMP_CALC_ACCOUNTS={0}", app.demo_user));
    let mut env_file = String::new();
    if !app.env.is_empty() {
        env_file = format!("install -d -m 0755 {dir}\n: > {ENV_FILE}\n", dir = ENV_FILE.trim_end_matches("/app.env"));
        for (name, value) in &app.env {
            env_file.push_str(&format!("printf '%s\\n' {} >> {ENV_FILE}\n", shell_quote(&format!("{name}={value}"))));
        }
        env.push_str(&format!(" --env-file {ENV_FILE}"));
    }
    let store = match app.store {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Dynamodb => "dynamodb",
    };
    USER_DATA
        .replace("{{image}}", &image)
        .replace("{{region}}", &app.region)
        .replace("{{port}}", &app.port.to_string())
        .replace("{{store}}", store)
        .replace("{{app_env}}", env.trim_start())
        .replace("{{app_env_file}}\n", &env_file)
}

/// `text` as one shell word, taken literally: single-quoted, each `'` as `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The architectures `instance_type` runs (`x86_64`, `arm64`).
pub async fn architectures(cx: &Cx, instance_type: &str) -> anyhow::Result<Vec<String>> {
    let request = cx.ec2.describe_instance_types().instance_types(instance_type.into());
    let found = request.send().await.refused()?;
    let info = found
        .instance_types()
        .first()
        .ok_or_else(|| anyhow::anyhow!("instance type {instance_type} does not exist in region {}", cx.region))?;
    let processor = info.processor_info();
    Ok(processor
        .map(|p| p.supported_architectures().iter().map(|a| a.as_str().to_string()).collect())
        .unwrap_or_default())
}

/// Refuses an instance type that cannot run the app image.
pub async fn check_instance_type(cx: &Cx, instance_type: &str) -> anyhow::Result<()> {
    let supported = architectures(cx, instance_type).await?;
    anyhow::ensure!(
        supported.iter().any(|a| a == IMAGE_ARCHITECTURE),
        "instance type {instance_type} runs {} but the app image is built for {IMAGE_ARCHITECTURE} on this machine: \
         pick an {IMAGE_ARCHITECTURE} type (t3.micro, m7i.large, …) in instances.type",
        supported.join("/")
    );
    Ok(())
}

async fn ami_id(cx: &Cx, ami: &str, instance_type: &str) -> anyhow::Result<String> {
    if ami != "al2023" {
        return Ok(ami.to_string());
    }
    check_instance_type(cx, instance_type).await?;
    let name = format!("{AL2023_PARAMETER}-{IMAGE_ARCHITECTURE}");
    let parameter = cx.ssm.get_parameter().name(&name).send().await.refused()?;
    parameter
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("SSM parameter {name} has no value"))
}

async fn template_data(
    cx: &Cx,
    address: &str,
    attrs: &LaunchTemplateAttrs,
) -> anyhow::Result<RequestLaunchTemplateData> {
    let instance_tags =
        tags::pairs(&attrs.tags, address).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    let user_data = base64::engine::general_purpose::STANDARD.encode(render_user_data(&attrs.app));
    Ok(RequestLaunchTemplateData::builder()
        .image_id(ami_id(cx, &attrs.ami, &attrs.instance_type).await?)
        .instance_type(attrs.instance_type.as_str().into())
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder().arn(&attrs.instance_profile_arn).build(),
        )
        .set_security_group_ids(Some(attrs.security_group_ids.clone()))
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                .http_put_response_hop_limit(METADATA_HOP_LIMIT)
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/xvda")
                .ebs(
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .encrypted(true)
                        .volume_size(8)
                        .volume_type(VolumeType::Gp3)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        )
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(instance_tags))
                .build(),
        )
        .user_data(user_data)
        .build())
}

#[async_trait]
impl TypedKind for LaunchTemplate {
    type Attrs = LaunchTemplateAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &LaunchTemplateAttrs) -> anyhow::Result<Applied> {
        let created = cx
            .ec2
            .create_launch_template()
            .launch_template_name(&attrs.name)
            .launch_template_data(template_data(cx, address, attrs).await?)
            .tag_specifications(tags::ec2_spec(&attrs.tags, address, ResourceType::LaunchTemplate))
            .send()
            .await
            .refused()?;
        let template = created.launch_template();
        let id = template
            .and_then(|t| t.launch_template_id())
            .ok_or_else(|| anyhow::anyhow!("CreateLaunchTemplate returned no id"))?;
        note_created(id);
        let version = template.and_then(|t| t.latest_version_number()).unwrap_or(1);
        Ok(Applied::with_id(id).output("version", version.to_string()))
    }

    async fn adopt(
        &self,
        cx: &Cx,
        _address: &str,
        attrs: &LaunchTemplateAttrs,
        _hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let request = cx.ec2.describe_launch_templates().launch_template_names(&attrs.name);
        let found = found(request.send().await)?;
        let template = found.as_ref().and_then(|f| f.launch_templates().first());
        Ok(template.and_then(|t| {
            let version = t.latest_version_number()?.to_string();
            Some(Applied::with_id(t.launch_template_id()?).output("version", version))
        }))
    }

    async fn update(
        &self,
        cx: &Cx,
        address: &str,
        id: &str,
        before: &LaunchTemplateAttrs,
        after: &LaunchTemplateAttrs,
    ) -> anyhow::Result<Applied> {
        let only_tags = LaunchTemplateAttrs { tags: after.tags.clone(), ..before.clone() } == *after;
        let mut applied = Applied::with_id(id);
        if !only_tags {
            // A new version, which the Auto Scaling group then rolls out (an instance refresh).
            let request = cx
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(template_data(cx, address, after).await?);
            let created = retrying(&[NEW_EC2_ID], || request.clone().send()).await?;
            let version = created
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| anyhow::anyhow!("CreateLaunchTemplateVersion returned no version number"))?;
            applied = applied.output("version", version.to_string());
        }
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
        Ok(applied)
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, LaunchTemplateAttrs>) -> anyhow::Result<Option<Live>> {
        let request = cx.ec2.describe_launch_templates().launch_template_ids(id);
        let Some(found) = found(request.send().await)? else { return Ok(None) };
        Ok(found.launch_templates().first().map(|template| {
            tags::ec2_live(template.tags())
                .detail("latest_version", template.latest_version_number().unwrap_or_default())
        }))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, LaunchTemplateAttrs>) -> anyhow::Result<()> {
        gone_is_fine(cx.ec2.delete_launch_template().launch_template_id(id).send().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppConfig {
        AppConfig {
            image: None,
            image_repository: "123.dkr.ecr.us-east-1.amazonaws.com/cloudcomp/demo".into(),
            image_tag: "abc123".into(),
            port: 8080,
            store: StoreKind::Dynamodb,
            table: Some("demo-app".into()),
            region: "us-east-1".into(),
            jwt_secret_parameter: Some("/cloudcomp/demo/jwt-key".into()),
            demo_user: false,
            env: BTreeMap::new(),
        }
    }

    #[test]
    fn user_data_names_the_image_and_is_valid_shell() {
        let script = render_user_data(&app());
        assert!(script.contains("IMAGE='123.dkr.ecr.us-east-1.amazonaws.com/cloudcomp/demo:abc123'"));
        assert!(script.contains("-e CLOUDCOMP_TABLE=demo-app"));
        assert!(script.contains("-e CLOUDCOMP_DEMO_USER=false"), "the demo account is off unless the stack asks");
        assert!(!script.contains("{{"), "unfilled field in:\n{script}");
        assert!(script.contains("-e CLOUDCOMP_JWT_SECRET_PARAMETER=/cloudcomp/demo/jwt-key"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user-data.sh");
        std::fs::write(&path, &script).unwrap();
        let check = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    }

    #[test]
    fn app_env_reaches_the_container_literally() {
        let tricky = r#"it's "$HOME" `id` %n \ end"#;
        let env = BTreeMap::from([("CLOUDCOMP_RATE_LOGIN".to_string(), "10".to_string()), ("X".into(), tricky.into())]);
        let script = render_user_data(&AppConfig { env, ..app() });
        assert!(script.contains("--env-file /etc/cloudcomp/app.env"), "{script}");
        assert!(!render_user_data(&app()).contains("--env-file"), "no file without app.env");
        // Only the lines that write the file, run by bash: the file holds each value as written.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.env");
        let writes: String = script
            .lines()
            .filter(|l| l.starts_with("printf ") || l.starts_with(": >"))
            .map(|l| l.replace(ENV_FILE, file.to_str().unwrap()) + "\n")
            .collect();
        let run = std::process::Command::new("bash").arg("-c").arg(&writes).output().unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("CLOUDCOMP_RATE_LOGIN=10\nX={tricky}\n"));
    }

    #[test]
    fn a_pushed_image_is_pinned_by_digest() {
        let app = AppConfig { image: Some("127.0.0.1:5000/cloudcomp-app@sha256:0123".into()), ..app() };
        assert!(render_user_data(&app).contains("IMAGE='127.0.0.1:5000/cloudcomp-app@sha256:0123'"));
    }
}
