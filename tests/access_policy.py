"""Who may use which route: endpoint → the roles allowed to call it.

Roles: ``anonymous``; ``shopper`` (the sample visit's own shopper); ``other_shopper``;
``manager_a`` (manages the sample visit's store) and ``manager_b`` (another store);
``area_a`` (area manager of the sample visit's store's region) and ``area_b`` (of another
region); ``qa`` (QA auditor); ``hq`` (HQ admin). Every other role must be denied (401, 403, 404 or
a redirect to the login page). ``tests/test_access_matrix.py`` checks every route against
this table; a new route needs an entry here. ``METHOD_POLICY`` overrides one method of an
endpoint when its methods differ.
"""

from __future__ import annotations

ROLES = ("anonymous", "shopper", "other_shopper", "manager_a", "manager_b", "area_a", "area_b",
         "qa", "hq")

EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {"anonymous"}
HQ = frozenset({"hq"})
HQ_QA = frozenset({"hq", "qa"})
OWN_SHOPPER = frozenset({"shopper"})
SHOPPERS = frozenset({"shopper", "other_shopper"})
MANAGERS = frozenset({"manager_a", "manager_b", "area_a", "area_b"})
#: Those who see the sample visit's store: its manager and its region's area manager (another
#: store's or region's manager gets 404).
STORE_MANAGER = frozenset({"manager_a", "area_a"})
AREA_MANAGERS = frozenset({"area_a", "area_b"})

POLICY: dict[str, frozenset[str]] = {
    # public: health checks, the API description, login and the language switch
    "main.healthz": EVERYONE,
    "main.favicon": EVERYONE,  # the site icon (static)
    "api.health": EVERYONE,
    "api.openapi": EVERYONE,
    "auth.login": EVERYONE,
    "auth.set_language": EVERYONE,
    "auth.logout": LOGGED_IN,
    "auth.account": LOGGED_IN,  # one's own language setting
    "auth.change_password": LOGGED_IN,  # one's own password (the current one required)
    "auth.change_email": LOGGED_IN,  # one's own e-mail address (the password required)
    "auth.notification_preferences": LOGGED_IN,  # one's own optional notifications
    # "forgot password": anyone may ask for a link; the reset page needs a genuine token
    "auth.forgot_password": EVERYONE,
    "auth.reset_password": EVERYONE,
    # one's own inbox (every role); a notification is marked read only by its reader
    "main.notifications_page": LOGGED_IN,
    "main.notifications_read_all": LOGGED_IN,
    "main.notification_read": frozenset({"manager_a"}),
    "main.index": LOGGED_IN,  # sends each role to its home page
    # the service worker script is static code (no data)
    "shopper.service_worker": EVERYONE,
    "shopper.manifest": EVERYONE,  # the web app manifest (no data in it)
    # the assignment link: whoever holds the (unguessable, expiring) token
    "shopper.token_form": EVERYONE,
    "shopper.token_photo": EVERYONE,
    # visit photos: the visit's shopper, its store's manager once released, QA and HQ
    "main.photo": frozenset({"shopper", "manager_a", "area_a", "qa", "hq"}),
    # shopper pages and API (the sample visit is the shopper's own)
    "shopper.index": SHOPPERS,
    "shopper.visit_form": OWN_SHOPPER,
    "api.shopper_assignments": LOGGED_IN,  # each user's own list (empty for non-shoppers)
    "api.shopper_visit": OWN_SHOPPER,
    "api.shopper_checkin": OWN_SHOPPER,
    "api.shopper_draft": OWN_SHOPPER,
    "api.shopper_photo": OWN_SHOPPER,
    "api.shopper_photo_delete": OWN_SHOPPER,
    "api.shopper_events": OWN_SHOPPER,
    "api.shopper_submit": OWN_SHOPPER,
    # manager portal (store and area managers): lists for every manager, objects of their
    # own stores only; "mark as read" is the store manager's; the region table the area
    # manager's
    "manager.index": MANAGERS,
    "manager.actions": MANAGERS,
    "manager.regions": AREA_MANAGERS,
    "manager.insights_page": AREA_MANAGERS,  # Insights for one's own regions (#21)
    "manager.store": STORE_MANAGER,
    "manager.visit": STORE_MANAGER,
    "manager.acknowledge": frozenset({"manager_a"}),
    "manager.add_action": STORE_MANAGER,
    "manager.action_done": STORE_MANAGER,
    "manager.file_dispute": STORE_MANAGER,
    "manager.evidence": STORE_MANAGER,
    # issue #24 / #17 item 6: coaching on missed complaint-handling steps (a store's), and
    # completing an automatic corrective action (root cause, what was done, photo)
    "manager.scenario_action": STORE_MANAGER,
    "manager.action_complete": STORE_MANAGER,
    "manager.action_evidence": STORE_MANAGER,
    # PDF reports and exports: managers for their own stores, HQ for everything
    "manager.reports": MANAGERS,
    "manager.report_visit_pdf": STORE_MANAGER,
    "manager.report_store_pdf": STORE_MANAGER,
    "manager.report_export_visits": MANAGERS,  # each manager's own stores only
    "manager.report_export_scores": MANAGERS,
    "hq.reports": HQ,
    "hq.report_visit_pick": HQ,
    "hq.report_store_pick": HQ,
    "hq.report_visit_pdf": HQ,
    "hq.report_store_pdf": HQ,
    "hq.report_brand_pdf": HQ,
    "hq.report_job": HQ,
    "hq.report_job_json": HQ,
    "hq.report_job_download": HQ,
    "hq.report_job_retry": HQ,
    "hq.report_export_visits": HQ,
    # month-end reports (issue #22): HQ builds and downloads them; a store's manager (and
    # its area manager) downloads the store's report of a closed month
    "hq.month_end_page": HQ,
    "hq.month_end_start": HQ,
    "hq.month_end_rerun": HQ,
    "hq.month_end_part_pdf": HQ,
    "hq.month_end_zip": HQ,
    "manager.month_end_pdf": STORE_MANAGER,
    "hq.report_export_scores": HQ,
    # QA audits: the list for QA and HQ, the audit form for its auditor
    "hq.qa_index": HQ_QA,
    "hq.qa_visit": frozenset({"qa"}),
    # HQ console and the BI API
    "api.hq_bdi": HQ,
    "api.hq_visit_receipt": HQ,
    "api.hq_store_receipt": HQ,
    "api.hq_dimensions": HQ,
    "api.hq_insights": HQ,  # Insights as JSON (#21)
    "api.hq_series": HQ,
    "api.hq_recovery": HQ,
    "hq.index": HQ,
    "hq.actions": HQ,
    "hq.audit_log": HQ,
    "hq.verify_action": HQ,
    "hq.action_evidence": HQ,
    "hq.scenarios_page": HQ,
    "hq.scenario_edit": HQ,
    "hq.scenario_retire": HQ,
    "hq.scenario_settings": HQ,
    "hq.recovery_ranking": HQ,
    "hq.api_token": HQ,
    "hq.competitor_stores": HQ,
    "hq.competitor_active": HQ,
    "hq.competitor_edit": HQ,
    "hq.competitor_new": HQ,
    "hq.competitors": HQ,
    "hq.insights_page": HQ,  # Insights: drivers, IPA, loyalty, triangulation (#21)
    "hq.complaints": HQ,
    "hq.complaint_detail": HQ,
    "hq.complaint_handling": HQ,
    "hq.complaint_new": HQ,
    "hq.complaint_resolve": HQ,
    "hq.disputes": HQ,
    "hq.decide_dispute": HQ,
    "hq.dispute_evidence": HQ,
    "hq.users": HQ,
    "hq.user_active": HQ,
    "hq.user_edit": HQ,
    "hq.user_new": HQ,
    "hq.questionnaires": HQ,
    "hq.questionnaire": HQ,
    "hq.questionnaire_dimension": HQ,
    "hq.questionnaire_discard": HQ,
    "hq.questionnaire_item_delete": HQ,
    "hq.questionnaire_item_edit": HQ,
    "hq.questionnaire_item_move": HQ,
    "hq.questionnaire_item_new": HQ,
    "hq.questionnaire_new_version": HQ,
    "hq.questionnaire_publish": HQ,
    "hq.questionnaire_rename": HQ,
    "hq.regions": HQ,
    "hq.region_detail": HQ,
    "hq.region_active": HQ,
    "hq.region_edit": HQ,
    "hq.region_new": HQ,
    "hq.review_queue": HQ,
    "hq.scheduling": HQ,
    "hq.scheduling_reassign": HQ,
    "hq.proposals_accept": HQ,
    "hq.proposals_budget": HQ,
    "hq.scheduling_bulk": HQ,  # extend / reassign / cancel assignments in bulk
    "hq.settings": HQ,
    "hq.months": HQ,  # open and closed months (SCORING.md §11)
    "hq.close_month": HQ,
    "hq.integrity_settings": HQ,
    "hq.stores": HQ,
    "hq.visit_receipt": HQ,
    "hq.store_receipt": HQ,
    "hq.store_detail": HQ,
    "hq.store_active": HQ,
    "hq.store_edit": HQ,
    "hq.store_import": HQ,
    "hq.store_import_template": HQ,
    "hq.store_new": HQ,
    "hq.visit_detail": HQ,
    "hq.visit_release": HQ,
    "hq.visit_return": HQ,
    "hq.visit_reject": HQ,
    "hq.visit_correct": HQ,
    "hq.visit_void": HQ,
    # shoppers as a workforce (issue #20): HQ only; a shopper's own profile, history, quiz
    "hq.visit_grade": HQ,
    "hq.visit_expense_cap": HQ,
    "hq.shoppers_list": HQ,
    "hq.shoppers_settings": HQ,
    "hq.shopper_profile": HQ,
    "hq.shopper_standing": HQ,
    "hq.shopper_payout": HQ,
    "hq.questionnaire_quiz": HQ,
    "hq.integrity_truths": HQ,
    "hq.payments_index": HQ,
    "hq.payments_approve": HQ,
    "hq.payments_batch": HQ,
    "hq.payments_export": HQ,
    "hq.payments_paid": HQ,
    "hq.payments_settings": HQ,
    "shopper.profile": SHOPPERS,
    "shopper.history": SHOPPERS,
    "shopper.quiz": SHOPPERS,
}

METHOD_POLICY: dict[tuple[str, str], frozenset[str]] = {}


def allowed(endpoint: str, method: str) -> frozenset[str]:
    return METHOD_POLICY.get((endpoint, method), POLICY.get(endpoint, frozenset()))
