//! `route_table`: the public subnets' routes (the default route through the internet
//! gateway) and its associations with those subnets.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use serde_json::{Value, json};

use super::tags::Ec2Type;
use super::{
    Applied, Attrs, Cx, Hint, Kind, Live, NEW_EC2_ID, RELEASE, Refused, already_done, found, gone_is_fine,
    note_created, retrying, tags, text,
};

/// The `route_table` kind.
pub struct RouteTable;

/// (destination CIDR, gateway id) of each route in the `routes` attribute.
fn routes(attrs: &Attrs) -> BTreeSet<(String, String)> {
    let field = |r: &Value, name: &str| r.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    attrs
        .get("routes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| (field(r, "destination"), field(r, "gateway_id")))
        .collect()
}

fn subnet_ids(attrs: &Attrs) -> BTreeSet<String> {
    attrs
        .get("subnet_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The table's current (association id, subnet id) pairs, main association excluded.
async fn associations(cx: &Cx, id: &str) -> anyhow::Result<Vec<(String, String)>> {
    let tables = cx
        .ec2
        .describe_route_tables()
        .filters(Filter::builder().name("route-table-id").values(id).build())
        .send()
        .await
        .refused()?;
    Ok(tables
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| !a.main().unwrap_or(false))
        .filter_map(|a| Some((a.route_table_association_id()?.to_string(), a.subnet_id()?.to_string())))
        .collect())
}

#[async_trait]
impl Kind for RouteTable {
    fn name(&self) -> &'static str {
        "route_table"
    }

    fn updatable(&self) -> &'static [&'static str] {
        &["routes", "subnet_ids", "tags"]
    }

    async fn create(&self, cx: &Cx, address: &str, attrs: &Attrs) -> anyhow::Result<Applied> {
        let create = cx.ec2.create_route_table().vpc_id(text(attrs, "vpc_id")?).tag_specifications(tags::ec2_spec(
            attrs,
            address,
            ResourceType::RouteTable,
        ));
        let created = retrying(&[NEW_EC2_ID], || create.clone().send()).await?;
        let id = created
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| anyhow::anyhow!("CreateRouteTable returned no id"))?
            .to_string();
        note_created(&id);
        let empty = Attrs::new();
        self.update(cx, address, &id, &empty, attrs).await
    }

    async fn adopt(&self, cx: &Cx, address: &str, attrs: &Attrs, hint: Hint<'_>) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::RouteTable, address, hint).await? else { return Ok(None) };
        let describe = cx.ec2.describe_route_tables().route_table_ids(&id);
        let found = retrying(&[NEW_EC2_ID], || describe.clone().send()).await?;
        let Some(table) = found.route_tables().first() else { return Ok(None) };
        // What the cut-off run got done, so that the update adds only the rest.
        let routes: Vec<Value> = table
            .routes()
            .iter()
            .filter_map(|r| Some(json!({"destination": r.destination_cidr_block()?, "gateway_id": r.gateway_id()?})))
            .filter(|r| r["gateway_id"] != "local")
            .collect();
        let subnets: Vec<&str> =
            table.associations().iter().filter(|a| !a.main().unwrap_or(false)).filter_map(|a| a.subnet_id()).collect();
        let mut done = attrs.clone();
        done.insert("routes".into(), Value::from(routes));
        done.insert("subnet_ids".into(), json!(subnets));
        self.update(cx, address, &id, &done, attrs).await.map(Some)
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::RouteTable, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> anyhow::Result<Applied> {
        let (old, new) = (routes(before), routes(after));
        for (destination, _) in old.iter().filter(|(d, _)| !new.iter().any(|(n, _)| n == d)) {
            let delete = cx.ec2.delete_route().route_table_id(id).destination_cidr_block(destination);
            gone_is_fine(retrying(&[NEW_EC2_ID], || delete.clone().send()).await)?;
        }
        for (destination, gateway) in new.difference(&old) {
            if old.iter().any(|(d, _)| d == destination) {
                let replace =
                    cx.ec2.replace_route().route_table_id(id).destination_cidr_block(destination).gateway_id(gateway);
                retrying(&[NEW_EC2_ID], || replace.clone().send()).await?;
            } else {
                let create =
                    cx.ec2.create_route().route_table_id(id).destination_cidr_block(destination).gateway_id(gateway);
                already_done(retrying(&[NEW_EC2_ID], || create.clone().send()).await, &["RouteAlreadyExists"])?;
            }
        }
        let wanted = subnet_ids(after);
        let current = if before.is_empty() { Vec::new() } else { associations(cx, id).await? };
        for (association, subnet) in &current {
            if !wanted.contains(subnet) {
                gone_is_fine(cx.ec2.disassociate_route_table().association_id(association).send().await)?;
            }
        }
        for subnet in wanted.iter().filter(|s| !current.iter().any(|(_, c)| c == *s)) {
            let associate = cx.ec2.associate_route_table().route_table_id(id).subnet_id(subnet);
            let associated = retrying(&[NEW_EC2_ID], || associate.clone().send()).await;
            already_done(associated, &["Resource.AlreadyAssociated"])?;
        }
        if !before.is_empty() {
            tags::update_ec2(cx, id, before, after).await?;
        }
        Ok(Applied::with_id(id))
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_route_tables().route_table_ids(id).send().await)? else {
            return Ok(None);
        };
        Ok(found.route_tables().first().map(|table| tags::ec2_live(table.tags())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _attrs: &Attrs) -> anyhow::Result<()> {
        let current = associations(cx, id).await.unwrap_or_default();
        for (association, _) in current {
            gone_is_fine(cx.ec2.disassociate_route_table().association_id(association).send().await)?;
        }
        gone_is_fine(retrying(&[RELEASE], || cx.ec2.delete_route_table().route_table_id(id).send()).await)
    }
}
