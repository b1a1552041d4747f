/*
 * res_talkgate_notify: answer Genesys SIP Server's in-dialog NOTIFY (Event: talk / hold)
 * with 200 OK and publish it as the channel user event "GenesysNotify" (AMI UserEvent,
 * ARI ChannelUserevent).
 *
 * Stock Asterisk claims every in-dialog request for which some session supplement exists
 * but has none for NOTIFY, so it never answers these and Genesys retransmits for 32 s.
 *
 * This file is distributed under the terms of the GNU General Public License version 2,
 * as it is a module of Asterisk (see ASTERISK_GPL_KEY below).
 */

/*** MODULEINFO
        <depend>pjproject</depend>
        <depend>res_pjsip</depend>
        <depend>res_pjsip_session</depend>
        <support_level>extended</support_level>
 ***/

#include "asterisk.h"

#include <ctype.h>
#include <string.h>

#include <pjsip.h>
#include <pjsip_ua.h>

#include "asterisk/astobj2.h"
#include "asterisk/channel.h"
#include "asterisk/config.h"
#include "asterisk/json.h"
#include "asterisk/lock.h"
#include "asterisk/module.h"
#include "asterisk/pbx.h"
#include "asterisk/res_pjsip.h"
#include "asterisk/res_pjsip_session.h"
#include "asterisk/sorcery.h"
#include "asterisk/stasis.h"
#include "asterisk/stasis_channels.h"
#include "asterisk/strings.h"

#define CONFIG_FILE "talkgate_notify.conf"
#define DEFAULT_EVENTS "talk,hold"
#define USER_EVENT_NAME "GenesysNotify"

/* Longest header value we report; Genesys's values (UUIDs, DNs) are far shorter. */
#define VALUE_MAX 256

/* The set of event packages this module answers, swapped as a whole on reload. */
struct notify_packages {
    /* comma separated, lower case, no blanks: ",talk,hold," so that a lookup is strstr */
    char list[512];
    /* The PJSIP endpoints (Genesys's) whose NOTIFYs are answered, in the same form; empty:
     * none, so that a phone or trunk cannot answer, hold or retrieve calls by NOTIFY. */
    char endpoints[512];
};

static AO2_GLOBAL_OBJ_STATIC(packages_holder);

/*
 * Sessions that hold a copy of our supplement (they copy it when created). A forced unload
 * while any is alive would leave them calling into unmapped code, so unload refuses then.
 */
static int live_sessions;

/* Builds ",a,b," from "a, b" (blanks dropped, lower-cased); empty when nothing valid. */
static void normalise_list(const char* in, char* out, size_t out_len) {
    size_t used = 0;
    int need_comma = 1;

    if (out_len < 3) {
        return;
    }
    out[used++] = ',';
    for (; *in && used + 2 < out_len; ++in) {
        if (*in == ',') {
            if (!need_comma) {
                out[used++] = ',';
                need_comma = 1;
            }
        } else if (!isspace((unsigned char)*in)) {
            out[used++] = tolower((unsigned char)*in);
            need_comma = 0;
        }
    }
    if (!need_comma) {
        out[used++] = ',';
    }
    out[used] = '\0';
    if (used == 1) {
        out[0] = '\0';
    }
}

static int load_config(int reload) {
    struct ast_flags flags = {reload ? CONFIG_FLAG_FILEUNCHANGED : 0};
    struct ast_config* cfg = ast_config_load(CONFIG_FILE, flags);
    const char* events = DEFAULT_EVENTS;
    const char* endpoints = "";
    struct notify_packages* packages;

    if (cfg == CONFIG_STATUS_FILEUNCHANGED) {
        return 0;
    }
    if (cfg == CONFIG_STATUS_FILEINVALID) {
        ast_log(LOG_ERROR, "%s is invalid: keeping the previous event packages\n", CONFIG_FILE);
        return -1;
    }
    if (cfg) {
        const char* value = ast_variable_retrieve(cfg, "general", "events");

        if (value) {
            events = value;
        }
        value = ast_variable_retrieve(cfg, "general", "endpoints");
        if (value) {
            endpoints = value;
        }
    }

    packages = ao2_alloc_options(sizeof(*packages), NULL, AO2_ALLOC_OPT_LOCK_NOLOCK);
    if (!packages) {
        if (cfg) {
            ast_config_destroy(cfg);
        }
        return -1;
    }
    normalise_list(events, packages->list, sizeof(packages->list));
    normalise_list(endpoints, packages->endpoints, sizeof(packages->endpoints));
    if (cfg) {
        ast_config_destroy(cfg);
    }
    if (ast_strlen_zero(packages->list)) {
        ast_log(LOG_WARNING, "%s: 'events' names no event package: answering none\n", CONFIG_FILE);
    }
    if (ast_strlen_zero(packages->endpoints)) {
        ast_log(LOG_WARNING, "%s: 'endpoints' names no Genesys endpoint: answering no NOTIFY\n",
                CONFIG_FILE);
    }
    ast_verb(3, "talkgate NOTIFY: answering event packages %s from endpoints %s\n",
             packages->list, packages->endpoints);
    ao2_global_obj_replace_unref(packages_holder, packages);
    ao2_ref(packages, -1);
    return 0;
}

static int is_answered_package(const char* package) {
    struct notify_packages* packages = ao2_global_obj_ref(packages_holder);
    char needle[VALUE_MAX + 2];
    int found = 0;

    if (packages && !ast_strlen_zero(package)) {
        snprintf(needle, sizeof(needle), ",%s,", package);
        found = strcasestr(packages->list, needle) != NULL;
    }
    ao2_cleanup(packages);
    return found;
}

/* Whether the session's PJSIP endpoint is one of the configured Genesys endpoints. */
static int is_genesys_session(struct ast_sip_session* session) {
    struct notify_packages* packages = ao2_global_obj_ref(packages_holder);
    char needle[VALUE_MAX + 2];
    const char* name = session->endpoint ? ast_sorcery_object_get_id(session->endpoint) : NULL;
    int found = 0;

    if (packages && !ast_strlen_zero(name)) {
        snprintf(needle, sizeof(needle), ",%s,", name);
        found = strcasestr(packages->endpoints, needle) != NULL;
    }
    ao2_cleanup(packages);
    return found;
}

/*
 * The value of the first header called `name` (or its compact `sname`), printed as text so
 * that typed headers (Event is parsed by pjsip-simple) and generic ones read the same.
 * Empty when missing or unprintable.
 */
static void header_value(pjsip_msg* msg, const char* name, const char* sname, char* out,
                         size_t out_len) {
    pj_str_t hname = pj_str((char*)name);
    pj_str_t hsname = pj_str((char*)(sname ? sname : name));
    pjsip_hdr* hdr = pjsip_msg_find_hdr_by_names(msg, &hname, &hsname, NULL);
    char printed[VALUE_MAX + 64];
    int len;
    const char* value;

    out[0] = '\0';
    if (!hdr) {
        return;
    }
    len = pjsip_hdr_print_on(hdr, printed, sizeof(printed) - 1);
    if (len <= 0) {
        return;
    }
    printed[len] = '\0';
    value = strchr(printed, ':');
    if (!value) {
        return;
    }
    ast_copy_string(out, ast_strip((char*)value + 1), out_len);
}

/* The event package of an Event header value: "Talk;id=1" -> "talk". */
static void event_package(const char* event_value, char* out, size_t out_len) {
    size_t n = strcspn(event_value, ";, \t");
    size_t i;

    if (n >= out_len) {
        n = out_len - 1;
    }
    /* Lower case, as the configured set is, so that consumers compare one spelling. */
    for (i = 0; i < n; ++i) {
        out[i] = tolower((unsigned char)event_value[i]);
    }
    out[n] = '\0';
}

static void to_user(pjsip_rx_data* rdata, char* out, size_t out_len) {
    pjsip_uri* uri;

    out[0] = '\0';
    if (!rdata->msg_info.to) {
        return;
    }
    uri = pjsip_uri_get_uri(rdata->msg_info.to->uri);
    if (uri && (PJSIP_URI_SCHEME_IS_SIP(uri) || PJSIP_URI_SCHEME_IS_SIPS(uri))) {
        ast_copy_pj_str(out, &((pjsip_sip_uri*)uri)->user, out_len);
    }
}

/* 200 OK in the NOTIFY's own transaction; statelessly when pjsip gave us none. */
static void answer_ok(struct ast_sip_session* session, pjsip_rx_data* rdata) {
    pjsip_dialog* dlg = session->inv_session->dlg;
    pjsip_transaction* tsx = pjsip_rdata_get_tsx(rdata);
    pjsip_tx_data* tdata;

    if (pjsip_dlg_create_response(dlg, rdata, 200, NULL, &tdata) != PJ_SUCCESS) {
        ast_log(LOG_WARNING, "talkgate NOTIFY: cannot create the 200 OK\n");
        return;
    }
    if (tsx) {
        pjsip_dlg_send_response(dlg, tsx, tdata);
    } else if (pjsip_endpt_send_response2(ast_sip_get_pjsip_endpoint(), rdata, tdata, NULL, NULL) !=
               PJ_SUCCESS) {
        pjsip_tx_data_dec_ref(tdata);
    }
}

/* Kept on the channel so that a talkgate that was away when this NOTIFY came (restarting)
 * finds it when it adopts the call: Genesys got its 200 and will not send it again. */
static void record_on_channel(struct ast_channel* chan, const char* package, const char* cseq,
                              const char* call_uuid) {
    pbx_builtin_setvar_helper(chan, "GENESYS_NOTIFY_EVENT", package);
    pbx_builtin_setvar_helper(chan, "GENESYS_NOTIFY_CSEQ", cseq);
    if (call_uuid[0] != '\0') {
        pbx_builtin_setvar_helper(chan, "GENESYS_CALL_UUID", call_uuid);
    }
}

/* JSON cannot carry bytes that are not UTF-8 (ast_json_pack fails and no event would go out),
 * and talkgate takes a CallUUID only as visible ASCII: anything else is dropped, the NOTIFY
 * still reported. */
static void keep_visible_ascii(char* value, const char* what) {
    const unsigned char* p;

    for (p = (const unsigned char*)value; *p; ++p) {
        if (*p <= ' ' || *p > '~') {
            ast_log(LOG_WARNING, "talkgate NOTIFY: %s is not visible ASCII; reported empty\n",
                    what);
            value[0] = '\0';
            return;
        }
    }
}

static void publish_user_event(struct ast_sip_session* session, pjsip_rx_data* rdata,
                               const char* package) {
    char call_id[VALUE_MAX];
    char call_uuid[VALUE_MAX];
    char dn[VALUE_MAX];
    char cseq[16];
    struct ast_channel* chan;
    struct ast_json* blob;

    /* The channel may already be gone (NOTIFY racing a hangup): the 200 was enough then. */
    chan = session->channel ? ast_channel_ref(session->channel) : NULL;
    if (!chan) {
        ast_debug(1, "talkgate NOTIFY %s: no channel, no event\n", package);
        return;
    }

    call_id[0] = '\0';
    if (rdata->msg_info.cid) {
        ast_copy_pj_str(call_id, &rdata->msg_info.cid->id, sizeof(call_id));
    }
    header_value(rdata->msg_info.msg, "X-Genesys-CallUUID", NULL, call_uuid, sizeof(call_uuid));
    keep_visible_ascii(call_uuid, "X-Genesys-CallUUID");
    to_user(rdata, dn, sizeof(dn));
    snprintf(cseq, sizeof(cseq), "%d", rdata->msg_info.cseq ? rdata->msg_info.cseq->cseq : 0);

    record_on_channel(chan, package, cseq, call_uuid);

    /* Never a key named Event: AMI would print a second "Event:" line. */
    blob = ast_json_pack("{s: s, s: s, s: s, s: s, s: s, s: s}", "eventname", USER_EVENT_NAME,
                         "NotifyEvent", package, "CallID", call_id, "CallUUID", call_uuid, "DN", dn,
                         "CSeq", cseq);
    if (blob) {
        ast_channel_lock(chan);
        ast_multi_object_blob_single_channel_publish(chan, ast_multi_user_event_type(), blob);
        ast_channel_unlock(chan);
        ast_json_unref(blob);
    } else {
        ast_log(LOG_WARNING, "talkgate NOTIFY %s: Call-ID or DN not encodable, no event\n",
                package);
    }
    ast_channel_unref(chan);
}

/* Runs on the session's serializer for every in-dialog NOTIFY the session module sees. */
static int notify_incoming_request(struct ast_sip_session* session, pjsip_rx_data* rdata) {
    char event_value[VALUE_MAX];
    char package[VALUE_MAX];

    if (!session->inv_session || !session->inv_session->dlg || !rdata->msg_info.msg) {
        return 0;
    }
    header_value(rdata->msg_info.msg, "Event", "o", event_value, sizeof(event_value));
    event_package(event_value, package, sizeof(package));
    if (!is_answered_package(package)) {
        /* Not Genesys's: leave it to whatever else handles it (stock behaviour). */
        return 0;
    }
    if (!is_genesys_session(session)) {
        /* Only Genesys may answer, hold or retrieve a call this way: no 200, no event. */
        ast_debug(1, "talkgate NOTIFY %s: endpoint is not a configured Genesys endpoint\n",
                  package);
        return 0;
    }

    answer_ok(session, rdata);
    publish_user_event(session, rdata, package);
    return 1;
}

static void notify_session_begin(struct ast_sip_session* session) {
    ast_atomic_fetchadd_int(&live_sessions, +1);
}

static void notify_session_destroy(struct ast_sip_session* session) {
    ast_atomic_fetchadd_int(&live_sessions, -1);
}

static struct ast_sip_session_supplement notify_supplement = {
    .method = "NOTIFY",
    .priority = AST_SIP_SUPPLEMENT_PRIORITY_CHANNEL + 1,
    .session_begin = notify_session_begin,
    .session_destroy = notify_session_destroy,
    .incoming_request = notify_incoming_request,
};

static int load_module(void) {
    if (load_config(0)) {
        return AST_MODULE_LOAD_DECLINE;
    }
    ast_sip_session_register_supplement(&notify_supplement);
    return AST_MODULE_LOAD_SUCCESS;
}

static int unload_module(void) {
    int in_use;

    /* Unregister first: no new session copies the supplement while we look at the count. */
    ast_sip_session_unregister_supplement(&notify_supplement);
    in_use = ast_atomic_fetchadd_int(&live_sessions, 0);
    if (in_use > 0) {
        ast_log(LOG_WARNING, "res_talkgate_notify is in use by %d SIP session(s): not unloading\n",
                in_use);
        ast_sip_session_register_supplement(&notify_supplement);
        return -1;
    }
    ao2_global_obj_release(packages_holder);
    return 0;
}

static int reload_module(void) {
    return load_config(1) ? AST_MODULE_LOAD_DECLINE : AST_MODULE_LOAD_SUCCESS;
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_LOAD_ORDER,
                "talkgate: answer Genesys NOTIFY talk/hold",
                .support_level = AST_MODULE_SUPPORT_EXTENDED, .load = load_module,
                .unload = unload_module, .reload = reload_module, .load_pri = AST_MODPRI_APP_DEPEND,
                .requires = "res_pjsip,res_pjsip_session", );
