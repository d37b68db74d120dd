// An extension: registered as IntrospectorPluginExtension, it runs after its parent.
const extension = {
  name: 'examplelogs',
  parentName: 'example',
  alias: true,
};

export default class LogsActivator {
  start(context) {
    this.registration = context.registerService(context.ids.IntrospectorPluginExtension, extension);
  }

  stop() {
    this.registration?.unregister();
  }
}
