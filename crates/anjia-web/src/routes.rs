//! The account routes, declared once (PRV-30: object-level authorisation is tested from this
//! table, so a new per-user route cannot skip the test).
//!
//! Every route under `/api/v1/me`, `/api/v1/auth` and `/account` is registered **only** here:
//! [`owned_routes`] lists the routes that act for the signed-in account (each needs a session;
//! routes that address one of the account's resources by an id say where the id is, see
//! [`Resource`]), [`PUBLIC_ACCOUNT_ROUTES`] the few that work without one (signing in, recovery,
//! the linked-login start and callback). [`api_router`] and [`page_router`] build the routers
//! from them. A unit test fails when `lib.rs` or `accounts/` registers an `/account` or `/me`
//! route anywhere else, and the integration test `it/authz.rs` walks [`owned_routes`]: user B
//! gets 403 or 404 on each of user A's resources, and without a session every route answers
//! 401 (API) or a redirect to the sign-in page (pages).

use crate::AppState;
use crate::accounts::{api as acc_api, cancel, export, minors, oauth, pages as acc, verification};
use crate::alerts::{api as alerts_api, pages as alerts_pages};
use crate::tickets::web as tickets;
use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;

/// Where a route lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/v1/…`: bearer token; errors are problem documents (401 when not signed in).
    Api,
    /// Pages: session cookie; not signed in → 303 to `/account/sign-in`.
    Page,
}

/// A user-owned resource a route addresses, and where the request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A session, by its public id (`SessionView::id`), in the path parameter `{id}`.
    SessionInPath,
    /// A session, by its public id, in the form field `session`.
    SessionInForm,
    /// A linked login, by provider id, in the path parameter `{provider}`.
    LinkInPath,
    /// A saved search (选房条件), by id, in the path parameter `{id}`.
    SavedSearchInPath,
    /// A message of the message centre, by id, in the path parameter `{id}`.
    MessageInPath,
}

/// One per-user route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRoute {
    /// The full path as requested (`/api/v1/me/sessions/{id}`), axum syntax for parameters.
    pub path: &'static str,
    /// API or page.
    pub surface: Surface,
    /// HTTP methods served (upper case).
    pub methods: Vec<&'static str>,
    /// The user-owned resource the route addresses, if any.
    pub resource: Option<Resource>,
    /// Accepts large bodies (avatar upload, [`crate::AVATAR_BODY_LIMIT`]).
    pub large_body: bool,
}

/// Routes under `/account` that work without a session: signing in, recovering, the
/// linked-login start and callback (they create the session), and signing out (idempotent: it
/// ends the session if there is one and clears the cookie either way).
pub const PUBLIC_ACCOUNT_ROUTES: [&str; 8] = [
    "/account/sign-in",
    "/account/sign-out",
    "/account/sign-in/code",
    "/account/sign-in/password",
    "/account/recover",
    "/account/recover/code",
    "/account/oauth/{provider}/start",
    "/account/oauth/{provider}/callback",
];

/// Public `/api/v1/auth` routes (no session needed).
pub const PUBLIC_API_AUTH_ROUTES: [&str; 5] = [
    "/api/v1/auth/code",
    "/api/v1/auth/sign-in",
    "/api/v1/auth/sign-in/password",
    "/api/v1/auth/recover/code",
    "/api/v1/auth/recover",
];

struct Entry {
    route: OwnedRoute,
    router: MethodRouter<AppState>,
}

impl Entry {
    fn new(surface: Surface, path: &'static str) -> Entry {
        Entry {
            route: OwnedRoute {
                path,
                surface,
                methods: Vec::new(),
                resource: None,
                large_body: false,
            },
            router: MethodRouter::new(),
        }
    }
    fn api(path: &'static str) -> Entry {
        Entry::new(Surface::Api, path)
    }
    fn page(path: &'static str) -> Entry {
        Entry::new(Surface::Page, path)
    }
    fn resource(mut self, r: Resource) -> Entry {
        self.route.resource = Some(r);
        self
    }
    fn large(mut self) -> Entry {
        self.route.large_body = true;
        self
    }
    fn get<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> Entry {
        self.route.methods.push("GET");
        self.router = self.router.get(h);
        self
    }
    fn post<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> Entry {
        self.route.methods.push("POST");
        self.router = self.router.post(h);
        self
    }
    fn put<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> Entry {
        self.route.methods.push("PUT");
        self.router = self.router.put(h);
        self
    }
    fn patch<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> Entry {
        self.route.methods.push("PATCH");
        self.router = self.router.patch(h);
        self
    }
    fn delete<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> Entry {
        self.route.methods.push("DELETE");
        self.router = self.router.delete(h);
        self
    }
}

/// The table: every per-user route with its handlers.
fn table() -> Vec<Entry> {
    use Resource::*;
    vec![
        // ---- API: the signed-in account (bearer) ----
        Entry::api("/api/v1/auth/sign-out").post(acc_api::sign_out),
        Entry::api("/api/v1/auth/sign-out-everywhere").post(acc_api::sign_out_everywhere),
        Entry::api("/api/v1/auth/step-up/code").post(acc_api::send_step_up_code),
        Entry::api("/api/v1/auth/step-up").post(acc_api::step_up),
        Entry::api("/api/v1/me")
            .get(acc_api::me)
            .patch(acc_api::patch_me),
        Entry::api("/api/v1/me/sessions").get(acc_api::sessions),
        Entry::api("/api/v1/me/sessions/{id}")
            .delete(acc_api::revoke_session)
            .resource(SessionInPath),
        Entry::api("/api/v1/me/password").put(acc_api::put_password),
        Entry::api("/api/v1/me/phone/code").post(acc_api::send_phone_code),
        Entry::api("/api/v1/me/phone").put(acc_api::put_phone),
        Entry::api("/api/v1/me/avatar")
            .get(acc_api::get_avatar)
            .put(acc_api::put_avatar)
            .delete(acc_api::delete_avatar)
            .large(),
        Entry::api("/api/v1/me/links").get(oauth::api_links),
        Entry::api("/api/v1/me/links/{provider}")
            .delete(oauth::api_unlink)
            .resource(LinkInPath),
        Entry::api("/api/v1/me/verification")
            .get(verification::api_get)
            .post(verification::api_post),
        Entry::api("/api/v1/me/guardian")
            .get(minors::api_get)
            .post(minors::api_post),
        Entry::api("/api/v1/me/guardian/code").post(minors::api_code),
        // users' rights (issue 5): cancellation, access and copy
        Entry::api("/api/v1/me/cancellation").post(cancel::api_cancel),
        Entry::api("/api/v1/me/export").get(export::api_export),
        // alerts (issue 7): saved searches, message centre, follows, history, settings
        Entry::api("/api/v1/me/saved-searches")
            .get(alerts_api::list_saved_searches)
            .post(alerts_api::create_saved_search_api),
        Entry::api("/api/v1/me/saved-searches/{id}")
            .get(alerts_api::get_saved_search)
            .patch(alerts_api::patch_saved_search)
            .delete(alerts_api::delete_saved_search)
            .resource(SavedSearchInPath),
        Entry::api("/api/v1/me/messages").get(alerts_api::list_messages),
        Entry::api("/api/v1/me/messages/unread-count").get(alerts_api::unread_count),
        Entry::api("/api/v1/me/messages/read-all").post(alerts_api::read_all_messages),
        Entry::api("/api/v1/me/messages/{id}")
            .patch(alerts_api::patch_message)
            .delete(alerts_api::delete_message)
            .resource(MessageInPath),
        Entry::api("/api/v1/me/follows").get(alerts_api::list_follows),
        Entry::api("/api/v1/me/follows/{lot_id}")
            .put(alerts_api::put_follow)
            .delete(alerts_api::delete_follow),
        Entry::api("/api/v1/me/history")
            .get(alerts_api::get_history)
            .delete(alerts_api::delete_history),
        Entry::api("/api/v1/me/notification-settings")
            .get(alerts_api::get_settings)
            .put(alerts_api::put_settings),
        // privacy requests and complaints (issue 5 item 6): the account's own tickets
        Entry::api("/api/v1/me/privacy-requests").get(tickets::list_own),
        // ---- pages: the signed-in account (cookie) ----
        Entry::page("/account").get(acc::account_page),
        Entry::page("/account/sign-out-everywhere").post(acc::sign_out_everywhere_post),
        Entry::page("/account/nickname").post(acc::nickname_post),
        Entry::page("/account/sessions").get(acc::sessions_page),
        Entry::page("/account/sessions/revoke")
            .post(acc::revoke_post)
            .resource(SessionInForm),
        Entry::page("/account/password")
            .get(acc::password_page_get)
            .post(acc::password_post),
        Entry::page("/account/step-up/code").post(acc::step_up_code_post),
        Entry::page("/account/step-up").post(acc::step_up_post),
        Entry::page("/account/phone")
            .get(acc::phone_page_get)
            .post(acc::phone_post),
        Entry::page("/account/phone/code").post(acc::phone_code_post),
        Entry::page("/account/avatar/reset").post(acc::avatar_reset_post),
        Entry::page("/account/avatar/image").get(acc::avatar_image),
        Entry::page("/account/avatar")
            .get(acc::avatar_page_get)
            .post(acc::avatar_post)
            .large(),
        Entry::page("/account/links").get(oauth::links_page),
        Entry::page("/account/links/{provider}/link").post(oauth::start_link_post),
        Entry::page("/account/links/{provider}/unlink")
            .post(oauth::unlink_post)
            .resource(LinkInPath),
        Entry::page("/account/verification")
            .get(verification::verification_page_get)
            .post(verification::verification_post),
        Entry::page("/account/guardian")
            .get(minors::guardian_page_get)
            .post(minors::guardian_post),
        Entry::page("/account/guardian/code").post(minors::guardian_code_post),
        // users' rights (issue 5)
        Entry::page("/account/cancel")
            .get(cancel::cancel_page_get)
            .post(cancel::cancel_post),
        Entry::page("/account/export")
            .get(export::export_page_get)
            .post(export::export_post),
        // alerts (issue 7)
        Entry::page("/account/searches")
            .get(alerts_pages::searches_get)
            .post(alerts_pages::searches_post),
        Entry::page("/account/searches/{id}")
            .get(alerts_pages::search_edit_get)
            .post(alerts_pages::search_edit_post)
            .resource(SavedSearchInPath),
        Entry::page("/account/searches/{id}/delete")
            .post(alerts_pages::search_delete_post)
            .resource(SavedSearchInPath),
        Entry::page("/account/messages").get(alerts_pages::inbox_get),
        Entry::page("/account/messages/read-all").post(alerts_pages::messages_read_all_post),
        Entry::page("/account/messages/{id}/read")
            .post(alerts_pages::message_read_post)
            .resource(MessageInPath),
        Entry::page("/account/messages/{id}/delete")
            .post(alerts_pages::message_delete_post)
            .resource(MessageInPath),
        Entry::page("/account/follows").get(alerts_pages::follows_get),
        Entry::page("/account/follows/{lot_id}").post(alerts_pages::follow_post),
        Entry::page("/account/history").get(alerts_pages::history_get),
        Entry::page("/account/history/clear").post(alerts_pages::history_clear_post),
        Entry::page("/account/notifications")
            .get(alerts_pages::settings_get)
            .post(alerts_pages::settings_post),
        Entry::page("/account/privacy-requests").get(tickets::account_list_get),
    ]
}

/// Every per-user route (see the module docs).
pub fn owned_routes() -> Vec<OwnedRoute> {
    table().into_iter().map(|e| e.route).collect()
}

/// The per-user API routes with large (`true`) or ordinary bodies, paths relative to `/api/v1`,
/// plus — with ordinary bodies — the public `/api/v1/auth` routes.
pub fn api_router(large_body: bool) -> Router<AppState> {
    let mut r = Router::new();
    if !large_body {
        r = r
            .route("/auth/code", axum::routing::post(acc_api::send_code))
            .route("/auth/sign-in", axum::routing::post(acc_api::sign_in))
            .route(
                "/auth/sign-in/password",
                axum::routing::post(acc_api::sign_in_password),
            )
            .route(
                "/auth/recover/code",
                axum::routing::post(acc_api::send_recovery_code),
            )
            .route("/auth/recover", axum::routing::post(acc_api::recover));
    }
    for e in table() {
        if e.route.surface == Surface::Api && e.route.large_body == large_body {
            let path = e.route.path.strip_prefix("/api/v1").unwrap_or(e.route.path);
            r = r.route(path, e.router);
        }
    }
    r
}

/// The per-user page routes with large (`true`) or ordinary bodies, plus — with ordinary bodies
/// — [`PUBLIC_ACCOUNT_ROUTES`].
pub fn page_router(large_body: bool) -> Router<AppState> {
    use axum::routing::{get, post};
    let mut r = Router::new();
    if !large_body {
        r = r
            .route(
                "/account/sign-in",
                get(acc::sign_in_page_get).post(acc::sign_in_post),
            )
            .route("/account/sign-in/code", post(acc::sign_in_code_post))
            .route("/account/sign-out", post(acc::sign_out_post))
            .route(
                "/account/sign-in/password",
                post(acc::sign_in_password_post),
            )
            .route(
                "/account/recover",
                get(acc::recover_page_get).post(acc::recover_post),
            )
            .route("/account/recover/code", post(acc::recover_code_post))
            .route(
                "/account/oauth/{provider}/start",
                post(oauth::start_login_post),
            )
            .route("/account/oauth/{provider}/callback", get(oauth::callback));
    }
    for e in table() {
        if e.route.surface == Surface::Page && e.route.large_body == large_body {
            r = r.route(e.route.path, e.router);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sources that may register routes, with their text.
    fn sources() -> Vec<(String, String)> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = vec![];
        let mut dirs = vec![src];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn account_routes_are_registered_only_through_this_table() {
        let mut offenders = vec![];
        for (path, text) in sources() {
            if path.ends_with("src/routes.rs") {
                continue;
            }
            let compact: String = text.split_whitespace().collect();
            for needle in [
                ".route(\"/account",
                ".route(\"/me",
                ".route(\"/api/v1/me",
                ".route(\"/auth",
                ".route(\"/api/v1/auth",
                ".nest(\"/account",
                ".nest(\"/me",
            ] {
                if compact.contains(needle) {
                    offenders.push(format!("{path}: {needle}"));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "register account routes in routes.rs only: {offenders:?}"
        );
    }

    #[test]
    fn every_route_with_a_parameter_is_in_the_table_or_declared_public() {
        let owned = owned_routes();
        // Every parameterised route registered by this module is either owned or public.
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes.rs"),
        )
        .unwrap();
        for lit in text.split('"').skip(1).step_by(2) {
            if lit.contains('{') && (lit.starts_with("/account") || lit.starts_with("/api/v1/me")) {
                assert!(
                    owned.iter().any(|r| r.path == lit) || PUBLIC_ACCOUNT_ROUTES.contains(&lit),
                    "{lit} is neither in the table nor public"
                );
            }
        }
        // A route that names a resource says where the id is, and only owned routes do.
        for r in &owned {
            assert!(!r.methods.is_empty(), "{} serves no method", r.path);
            // An `{id}` always names one of the account's resources: the authz test must visit it.
            assert!(
                !r.path.contains("{id}") || r.resource.is_some(),
                "{} takes an id but declares no resource",
                r.path
            );
            match r.resource {
                Some(Resource::SessionInPath) => assert!(r.path.contains("{id}"), "{}", r.path),
                Some(Resource::LinkInPath) => assert!(r.path.contains("{provider}"), "{}", r.path),
                Some(Resource::SessionInForm) => assert!(r.methods == ["POST"], "{}", r.path),
                Some(Resource::SavedSearchInPath | Resource::MessageInPath) => {
                    assert!(r.path.contains("{id}"), "{}", r.path)
                }
                None => {}
            }
            match r.surface {
                Surface::Api => assert!(r.path.starts_with("/api/v1/"), "{}", r.path),
                Surface::Page => assert!(r.path.starts_with("/account"), "{}", r.path),
            }
        }
        let mut paths: Vec<&str> = owned.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        let n = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), n, "a path is declared twice");
        for p in PUBLIC_ACCOUNT_ROUTES {
            assert!(
                !owned.iter().any(|r| r.path == p),
                "{p} is both public and owned"
            );
        }
    }
}
