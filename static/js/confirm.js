// Placeholder (issue 14): helper C's confirm.js replaces this file at merge.
