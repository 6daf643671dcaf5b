{% extends "base.html" %}
{% block title %}Delete {{ row.name }}{% endblock %}
{% block main %}
<div class="panel panel-narrow">
  <h1>Delete “{{ row.name }}”?</h1>
  <p>This cannot be undone.</p>
  <form method="post" class="button-group">
    {% csrf_token %}
    <button type="submit" class="button button-danger">Delete</button>
    <a class="button button-quiet" href="{% url '${app}_detail' row.id %}">Cancel</a>
  </form>
</div>
{% endblock %}
