{% extends "base.html" %}
{% load i18n %}
{% block title %}{% blocktranslate with title=row.name %}Delete {{ title }}{% endblocktranslate %}{% endblock %}
{% block main %}
<div class="panel panel-narrow">
  <h1>{% blocktranslate with title=row.name %}Delete “{{ title }}”?{% endblocktranslate %}</h1>
  <p>{% translate "This cannot be undone." %}</p>
  <form method="post" class="button-group">
    {% csrf_token %}
    <button type="submit" class="button button-danger">{% translate "Delete" %}</button>
    <a class="button button-quiet" href="{% url '${app}_detail' row.id %}">{% translate "Cancel" %}</a>
  </form>
</div>
{% endblock %}
