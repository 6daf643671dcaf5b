{% extends "base.html" %}
{% load i18n %}
{% block title %}{{ row.name }} · ${title}{% endblock %}
{% block main %}
<div class="panel">
  <p><a href="{% url '${app}_list' %}">← ${title}</a></p>
  {% if can.${perm}_update %}
    <form method="post" class="form" novalidate>
      {% csrf_token %}
      <input type="hidden" name="version" value="{{ form.version.value }}">
      {% for message in form.non_field_errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      {% for message in form.version.errors %}<p class="message message-warning" role="alert">{{ message }} {% translate "Saved now:" %} <strong>{{ row.name }}</strong>.</p>{% endfor %}
      <label for="{{ form.name.id }}">{% translate "Name" %}</label>
      <input id="{{ form.name.id }}" name="name" value="{{ form.name.value }}" {{ form.name.attrs }} {% if form.name.errors %}aria-invalid="true"{% endif %}>
      {% for message in form.name.errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      <label for="{{ form.notes.id }}">{% translate "Notes" %}</label>
      <textarea id="{{ form.notes.id }}" name="notes" rows="6" {{ form.notes.attrs }}>{{ form.notes.value }}</textarea>
      {% for message in form.notes.errors %}<p class="errorlist">{{ message }}</p>{% endfor %}
      <button type="submit" class="button">{% translate "Save" %}</button>
    </form>
  {% else %}
    <h1>{{ row.name }}</h1>
    <p>{{ row.notes|linebreaksbr }}</p>
  {% endif %}
  {% if can.${perm}_delete %}<p><a class="button button-danger" href="{% url '${app}_delete' row.id %}">{% translate "Delete" %}</a></p>{% endif %}
</div>
{% endblock %}
