// Placeholder (issue 14): helper D's forms.js replaces this file at merge.
