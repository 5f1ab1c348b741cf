//! `route_table`: the public subnets' routes (the default route through the internet
//! gateway) and its associations with those subnets.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use serde::{Deserialize, Serialize};

use super::tags::{Ec2Type, Tags};
use super::{
    Applied, Attributes, Cx, Hint, Live, NEW_EC2_ID, RELEASE, Refused, Stored, TypedKind, already_done, found,
    gone_is_fine, note_created, retrying, tags,
};

/// The `route_table` kind.
pub struct RouteTable;

/// A `route_table`'s attributes; `R` is how the ids of other resources are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTableAttrs<R = String> {
    /// The VPC it is in.
    pub vpc_id: R,
    /// Its routes besides the VPC's local one.
    pub routes: Vec<Route<R>>,
    /// The subnets it is the route table of.
    pub subnet_ids: Vec<R>,
    /// Its tags.
    pub tags: Tags,
}

impl<R: Serialize> Attributes for RouteTableAttrs<R> {
    const KIND: &'static str = "route_table";
    const UPDATABLE: &'static [&'static str] = &["routes", "subnet_ids", "tags"];
}

/// A route: traffic for `destination` goes through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route<R = String> {
    /// The address range it applies to.
    pub destination: String,
    /// The internet gateway it goes through.
    pub gateway_id: R,
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

/// Brings the table `id` from `before` (`None`: just created) to `after`'s routes, subnets
/// and tags.
async fn change(
    cx: &Cx,
    id: &str,
    before: Option<&RouteTableAttrs>,
    after: &RouteTableAttrs,
) -> anyhow::Result<Applied> {
    let (old, new): (BTreeSet<&Route>, BTreeSet<&Route>) =
        (before.iter().flat_map(|b| &b.routes).collect(), after.routes.iter().collect());
    for route in old.iter().filter(|o| !new.iter().any(|n| n.destination == o.destination)) {
        let delete = cx.ec2.delete_route().route_table_id(id).destination_cidr_block(&route.destination);
        gone_is_fine(retrying(&[NEW_EC2_ID], || delete.clone().send()).await)?;
    }
    for Route { destination, gateway_id } in new.difference(&old) {
        if old.iter().any(|o| o.destination == *destination) {
            let replace =
                cx.ec2.replace_route().route_table_id(id).destination_cidr_block(destination).gateway_id(gateway_id);
            retrying(&[NEW_EC2_ID], || replace.clone().send()).await?;
        } else {
            let create =
                cx.ec2.create_route().route_table_id(id).destination_cidr_block(destination).gateway_id(gateway_id);
            already_done(retrying(&[NEW_EC2_ID], || create.clone().send()).await, &["RouteAlreadyExists"])?;
        }
    }
    let wanted: BTreeSet<&String> = after.subnet_ids.iter().collect();
    let current = if before.is_none() { Vec::new() } else { associations(cx, id).await? };
    for (association, subnet) in &current {
        if !wanted.contains(subnet) {
            gone_is_fine(cx.ec2.disassociate_route_table().association_id(association).send().await)?;
        }
    }
    for subnet in wanted.iter().filter(|s| !current.iter().any(|(_, c)| c == **s)) {
        let associate = cx.ec2.associate_route_table().route_table_id(id).subnet_id(*subnet);
        let associated = retrying(&[NEW_EC2_ID], || associate.clone().send()).await;
        already_done(associated, &["Resource.AlreadyAssociated"])?;
    }
    if let Some(before) = before {
        tags::update_ec2(cx, id, &before.tags, &after.tags).await?;
    }
    Ok(Applied::with_id(id))
}

#[async_trait]
impl TypedKind for RouteTable {
    type Attrs = RouteTableAttrs;

    async fn create(&self, cx: &Cx, address: &str, attrs: &RouteTableAttrs) -> anyhow::Result<Applied> {
        let create = cx.ec2.create_route_table().vpc_id(&attrs.vpc_id).tag_specifications(tags::ec2_spec(
            &attrs.tags,
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
        change(cx, &id, None, attrs).await
    }

    async fn adopt(
        &self,
        cx: &Cx,
        address: &str,
        attrs: &RouteTableAttrs,
        hint: Hint<'_>,
    ) -> anyhow::Result<Option<Applied>> {
        let Some(id) = tags::adoptable(cx, Ec2Type::RouteTable, address, hint).await? else { return Ok(None) };
        let describe = cx.ec2.describe_route_tables().route_table_ids(&id);
        let found = retrying(&[NEW_EC2_ID], || describe.clone().send()).await?;
        let Some(table) = found.route_tables().first() else { return Ok(None) };
        // What the cut-off run got done, so that the change adds only the rest.
        let routes = table
            .routes()
            .iter()
            .filter_map(|r| {
                Some(Route { destination: r.destination_cidr_block()?.into(), gateway_id: r.gateway_id()?.into() })
            })
            .filter(|r| r.gateway_id != "local")
            .collect();
        let associated = table.associations().iter().filter(|a| !a.main().unwrap_or(false));
        let subnet_ids = associated.filter_map(|a| a.subnet_id()).map(str::to_string).collect();
        let done = RouteTableAttrs { routes, subnet_ids, ..attrs.clone() };
        change(cx, &id, Some(&done), attrs).await.map(Some)
    }

    async fn copies(&self, cx: &Cx, address: &str) -> anyhow::Result<Vec<String>> {
        tags::tagged_ids(cx, Ec2Type::RouteTable, address).await
    }

    async fn update(
        &self,
        cx: &Cx,
        _address: &str,
        id: &str,
        before: &RouteTableAttrs,
        after: &RouteTableAttrs,
    ) -> anyhow::Result<Applied> {
        change(cx, id, Some(before), after).await
    }

    fn read_lag(&self) -> std::time::Duration {
        tags::EC2_READ_LAG
    }

    async fn read(&self, cx: &Cx, id: &str, _: Stored<'_, RouteTableAttrs>) -> anyhow::Result<Option<Live>> {
        let Some(found) = found(cx.ec2.describe_route_tables().route_table_ids(id).send().await)? else {
            return Ok(None);
        };
        Ok(found.route_tables().first().map(|table| tags::ec2_live(table.tags())))
    }

    async fn delete(&self, cx: &Cx, id: &str, _: Stored<'_, RouteTableAttrs>) -> anyhow::Result<()> {
        let current = associations(cx, id).await.unwrap_or_default();
        for (association, _) in current {
            gone_is_fine(cx.ec2.disassociate_route_table().association_id(association).send().await)?;
        }
        gone_is_fine(retrying(&[RELEASE], || cx.ec2.delete_route_table().route_table_id(id).send()).await)
    }
}
