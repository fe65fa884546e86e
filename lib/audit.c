#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "log.h"

int
rag_audit(struct rag_db *db, long long tenant_id, const char *action,
    const char *subject, const char *details_json, struct rag_error *err)
{
	char tid[32];
	const char *tool = rag_log_tool();
	const char *p[6] = { tid, tool != NULL && *tool != '\0' ? tool : "rag",
		rag_audit_user(), action, subject != NULL ? subject : "",
		details_json != NULL ? details_json : "{}" };

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	if (rag_db_run(db, "INSERT INTO audit_log (tenant_id, tool, person, "
	    "action, subject, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
	    6, p, err) != 0) {
		rag_error_prefix(err, "cannot write the audit row '%s'",
		    action);
		return -1;
	}
	return 0;
}

const char *
rag_audit_user(void)
{
	static char user[256];
	const char *u = rag_config_get("RAG_USER");
	struct passwd *pw;

	if (u != NULL && *u != '\0')
		return u;
	if (user[0] != '\0')
		return user;
	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_name != NULL &&
	    *pw->pw_name != '\0')
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "uid %lu",
		    (unsigned long)geteuid());
	return user;
}
