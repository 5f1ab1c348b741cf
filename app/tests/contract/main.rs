//! The seed contracts, over HTTP against a running server, on both stores.
//!
//! Every test below runs twice: `sqlite::<name>` and `dynamodb::<name>`.

mod accounts;
mod calc_auth;
mod calc_client;
mod calc_resources;
mod errors;
mod items;
mod people;
mod server;
mod shared_state;

/// Generates `sqlite::$name` and `dynamodb::$name` for each async test fn `$module::$name(Backend)`.
macro_rules! on_both_stores {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { crate::$module::$name(crate::server::Backend::Sqlite).await }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { crate::$module::$name(crate::server::Backend::Dynamo).await }
            )*
        }
    };
}

on_both_stores!(
    accounts::welcome_page_at_root,
    accounts::add_list_and_remove_users,
    accounts::add_user_checks_missing_then_taken_then_format,
    accounts::every_answer_allows_any_origin_as_flask_cors_did,
    accounts::list_is_204_when_empty,
    accounts::form_and_json_bodies_both_work,
    accounts::wrong_methods_get_405,
    accounts::dynamo_route_matches_the_store,
    accounts::dynamo_route_lists_the_table,
    accounts::removing_an_impossible_username_is_400,
    shared_state::status_starts_at_the_initial_state,
    shared_state::update_needs_the_api_key,
    shared_state::update_changes_status_and_logs_it,
    shared_state::counters_written_as_whole_floats_are_whole_numbers,
    shared_state::logs_paginate_newest_first,
    shared_state::concurrent_updates_all_land,
    shared_state::messages_longer_than_10000_characters_are_refused,
    people::add_and_list_people,
    people::users_with_a_trailing_slash_redirect,
    people::emails_are_unique_once_normalised,
    people::invalid_people_get_fastapis_field_errors_with_400,
    items::login_gives_a_30_minute_bearer_token,
    items::login_refuses_bad_credentials,
    items::impossible_usernames_just_fail_to_log_in,
    items::items_crud,
    items::invalid_items_get_fastapis_field_errors,
    items::items_need_a_valid_token,
    items::users_only_see_their_own_items,
    items::login_is_rate_limited,
    items::items_are_rate_limited,
    items::logins_count_against_the_surfaces_limit,
    errors::malformed_bodies_are_refused_as_json,
    errors::oversized_bodies_are_413,
    errors::unknown_paths_are_404_json,
    errors::health_and_seed_surfaces_are_not_rate_limited,
    errors::openapi_documents_every_route,
    errors::undecodable_path_parameters_are_refused_as_json,
    errors::an_unread_body_closes_the_connection_and_says_so,
    calc_auth::login_sets_the_four_cookies,
    calc_auth::login_registers_new_clients_with_a_good_password,
    calc_auth::cookies_need_the_csrf_double_submit,
    calc_auth::expired_and_forged_tokens_are_refused,
    calc_auth::roles_come_from_the_token,
    calc_auth::refresh_and_logout,
    calc_auth::admins_are_made_with_the_admin_secret,
    calc_resources::operations_are_seeded_and_admins_manage_them,
    calc_resources::process_operation_computes_charges_and_refuses,
    calc_resources::listings_page_filter_and_select,
    calc_resources::clients_see_only_their_own_records,
    calc_resources::admins_manage_users,
    calc_resources::credit_is_never_overspent_under_concurrency,
);
