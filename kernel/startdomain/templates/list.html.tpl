{% extends "base.html" %}
{% load i18n %}
{% block title %}${title} · {{ active_organization.name }}{% endblock %}
{% block scripts %}{% load static %}<script src="{% static 'js/live.js' %}"></script><script src="{% static 'js/live-tables.js' %}"></script>{% endblock %}
{% block main %}
<div class="panel">
  <h1>${title}</h1>
  <form method="get" class="form-row" role="search">
    <label for="id_search">{% translate "Search" context "field" %}</label>
    <input id="id_search" name="search" type="search" value="{{ filters.search.value }}" {{ filters.search.attrs }}>
    <button type="submit" class="button button-quiet">{% translate "Filter" context "button" %}</button>
  </form>
  {% for message in filters.search.errors %}<p class="errorlist">{{ message }}</p>{% endfor %}

  <div class="table-scroll"><table data-live-query="${app}.list">
    <thead><tr><th>{% translate "Name" %}</th><th>{% translate "Created" %}</th></tr></thead>
    <tbody data-live-rows>
    {% for row in rows %}
      <tr><td><a href="{% url '${app}_detail' row.id %}">{{ row.name }}</a></td><td>{{ row.created_at|date:"SHORT_DATETIME_FORMAT" }}</td></tr>
    {% empty %}<tr><td colspan="2">{% translate "Nothing yet." %}</td></tr>{% endfor %}
    </tbody>
  </table></div>

  {% if can.${perm}_create %}
    <h2>{% translate "New" context "new item" %}</h2>
    <form method="post" class="form" novalidate>
      {% csrf_token %}
      {% for message in form.non_field_errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      <label for="{{ form.name.id }}">{% translate "Name" %}</label>
      <input id="{{ form.name.id }}" name="name" value="{{ form.name.value }}" {{ form.name.attrs }} {% if form.name.errors %}aria-invalid="true"{% endif %}>
      {% for message in form.name.errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      <label for="{{ form.notes.id }}">{% translate "Notes" %}</label>
      <textarea id="{{ form.notes.id }}" name="notes" rows="3" {{ form.notes.attrs }}>{{ form.notes.value }}</textarea>
      {% for message in form.notes.errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      <button type="submit" class="button">{% translate "Create" %}</button>
    </form>
  {% endif %}
</div>
{% endblock %}
